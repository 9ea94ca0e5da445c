import {
  createSessionCipher,
  exportPublicKey,
  generateKeyPair,
  generateSalt,
  type SealedMessage,
  type SessionCipher,
} from '@enclave-vm/stream';
import {
  CallIdSchema,
  EnclaveError,
  type EncryptionParams,
  MAX_APPROVAL_REASON_LENGTH,
  type StreamEvent,
  ToolErrorBodySchema,
  toEnclaveError,
  validate,
} from '@enclave-vm/types';
import { z } from 'zod';
import type { LoggedEvent } from './logged-event.js';

/** The suite every encrypted session uses. */
const ALGORITHM: EncryptionParams['algorithm'] = 'ECDH-P256+HKDF-SHA256+AES-256-GCM';

/** The plain content of a sealed tool result: `{ callId, result?, error? }`. */
const SealedToolResultSchema = z.object({
  callId: CallIdSchema,
  result: z.unknown().optional(),
  error: ToolErrorBodySchema.optional(),
});

/**
 * The plain content of a sealed decision on an approval: `{ type: 'approval', callId, approved,
 * reason? }`. The `type` keeps a sealed tool result from being taken for a decision.
 */
const SealedApprovalSchema = z.object({
  type: z.literal('approval'),
  callId: CallIdSchema,
  approved: z.boolean(),
  reason: z.string().max(MAX_APPROVAL_REASON_LENGTH).optional(),
});

/** An opened decision on an approval. */
export interface OpenedApproval {
  approved: boolean;
  reason: string | undefined;
}

/** An opened tool result. */
export interface OpenedToolResult {
  result: unknown;
  error: { message: string; code?: string } | undefined;
}

/**
 * The broker side of one end-to-end encrypted session: its ECDH key pair and salt (announced in
 * `session_init`), the server cipher that seals every later event before it enters the session log
 * — so a replay sends the very same ciphertext — and opens the tool results the client seals.
 */
export class BrokerSessionEncryption {
  private constructor(
    /** What `session_init` announces: `{ algorithm, publicKey, salt }`. */
    readonly params: EncryptionParams,
    private readonly cipher: SessionCipher,
  ) {}

  /**
   * Sets up the session's keys from the client's public key (`encryption.publicKey` of
   * `POST /execute`). Throws `ENCRYPTION_ERROR` for a key that is not a P-256 point.
   */
  static async create(sessionId: string, clientPublicKey: string): Promise<BrokerSessionEncryption> {
    const keyPair = await generateKeyPair();
    const salt = generateSalt();
    let cipher: SessionCipher;
    try {
      cipher = await createSessionCipher({
        role: 'server',
        keyPair,
        remotePublicKey: clientPublicKey,
        sessionId,
        salt,
      });
    } catch (error) {
      const failure = toEnclaveError(error, 'ENCRYPTION_ERROR');
      throw new EnclaveError('ENCRYPTION_ERROR', `encryption.publicKey: ${failure.message}`, {
        cause: error,
      });
    }
    const params: EncryptionParams = {
      algorithm: ALGORITHM,
      publicKey: await exportPublicKey(keyPair.publicKey),
      salt,
    };
    return new BrokerSessionEncryption(params, cipher);
  }

  /**
   * Seals an event into its log entry: the sealed event, with the type of the event it seals beside
   * it. Sealing starts at once (events are sealed concurrently, each with its own IV and seq-bound
   * data; the cipher runs at most `maxInFlight` AES-GCM operations at a time and queues the rest, so
   * a burst of events has bounded work in flight); the caller logs the entries in seq order.
   */
  async seal(event: StreamEvent): Promise<LoggedEvent> {
    const sealed = await this.cipher.sealEvent(event);
    return { seq: event.seq, type: event.type, event: sealed };
  }

  /**
   * Opens a sealed tool result of call `callId`. Throws `ENCRYPTION_ERROR` when it fails
   * authentication, was already opened (a replay), or seals another call's answer; the session is
   * unaffected and the call still waits for a valid answer.
   */
  async openToolResult(callId: string, sealed: SealedMessage): Promise<OpenedToolResult> {
    const value = await this.cipher.openMessage(sealed);
    const parsed = validate(SealedToolResultSchema, value);
    if (!parsed.success) {
      throw new EnclaveError(
        'ENCRYPTION_ERROR',
        `The sealed tool result is not { callId, result?, error? }: ${parsed.message}`,
      );
    }
    if (parsed.data.callId !== callId) {
      throw new EnclaveError(
        'ENCRYPTION_ERROR',
        `The sealed tool result answers call ${parsed.data.callId}, not ${callId}`,
      );
    }
    return { result: parsed.data.result, error: parsed.data.error };
  }

  /**
   * Opens a sealed decision on the approval of call `callId`. Throws `ENCRYPTION_ERROR` when it
   * fails authentication, was already opened (a replay), is not a decision, or decides another
   * call; the call then still waits for a valid decision.
   */
  async openApproval(callId: string, sealed: SealedMessage): Promise<OpenedApproval> {
    const value = await this.cipher.openMessage(sealed);
    const parsed = validate(SealedApprovalSchema, value);
    if (!parsed.success) {
      throw new EnclaveError(
        'ENCRYPTION_ERROR',
        `The sealed approval is not { type: 'approval', callId, approved, reason? }: ${parsed.message}`,
      );
    }
    if (parsed.data.callId !== callId) {
      throw new EnclaveError(
        'ENCRYPTION_ERROR',
        `The sealed approval decides call ${parsed.data.callId}, not ${callId}`,
      );
    }
    return { approved: parsed.data.approved, reason: parsed.data.reason };
  }
}
