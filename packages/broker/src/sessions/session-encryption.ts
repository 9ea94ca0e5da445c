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
  type EncryptedEvent,
  type EncryptionParams,
  type StreamEvent,
  ToolErrorBodySchema,
  toEnclaveError,
  validate,
} from '@enclave-vm/types';
import { z } from 'zod';
import type { SessionStore } from './session-store.js';

/** The suite every encrypted session uses. */
const ALGORITHM: EncryptionParams['algorithm'] = 'ECDH-P256+HKDF-SHA256+AES-256-GCM';

/**
 * Where a sealed event in the log keeps the type of the event it seals. A symbol key: kept with the
 * object in the log (so filters and the end-of-stream check work without the keys), never sent
 * (`JSON.stringify` skips symbol keys). A store that serializes events must keep it beside them.
 */
export const SEALED_EVENT_TYPE: unique symbol = Symbol.for('@enclave-vm/broker/sealedEventType');

/** A sealed event as the log holds it. */
type LoggedSealedEvent = EncryptedEvent & { [SEALED_EVENT_TYPE]: StreamEvent['type'] };

/** An event waiting for its sealing and for its turn in the log. */
interface PendingAppend {
  type: StreamEvent['type'];
  sealing: Promise<EncryptedEvent>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** The plain content of a sealed tool result: `{ callId, result?, error? }`. */
const SealedToolResultSchema = z.object({
  callId: CallIdSchema,
  result: z.unknown().optional(),
  error: ToolErrorBodySchema.optional(),
});

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
export class SessionEncryption {
  private appending: Promise<void> = Promise.resolve();
  /** Events appended in the current turn, not handed to the log yet. */
  private group: PendingAppend[] | undefined;

  private constructor(
    /** What `session_init` announces: `{ algorithm, publicKey, salt }`. */
    readonly params: EncryptionParams,
    private readonly cipher: SessionCipher,
  ) {}

  /**
   * Sets up the session's keys from the client's public key (`encryption.publicKey` of
   * `POST /execute`). Throws `ENCRYPTION_ERROR` for a key that is not a P-256 point.
   */
  static async create(sessionId: string, clientPublicKey: string): Promise<SessionEncryption> {
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
    return new SessionEncryption(params, cipher);
  }

  /**
   * Seals an event and appends it to the log. Sealing starts at once (events are sealed
   * concurrently, each with its own IV and seq-bound data; the cipher runs at most `maxInFlight`
   * AES-GCM operations at a time and queues the rest, so a burst of events has bounded work in
   * flight), but appends happen in call order, so the log keeps consecutive seqs. The events
   * appended in one turn (a runtime message often carries many) enter the log together once all of
   * them are sealed, so that they leave in one write rather than one per sealing.
   */
  append(event: StreamEvent, store: SessionStore): Promise<void> {
    const sealing = this.cipher.sealEvent(event);
    // An event whose sealing fails is reported through its append, not as an unhandled rejection.
    sealing.catch(() => undefined);
    return new Promise<void>((resolve, reject) => {
      if (this.group === undefined) {
        const group: PendingAppend[] = [];
        this.group = group;
        queueMicrotask(() => {
          this.group = undefined;
          this.appendGroup(group, store);
        });
      }
      this.group.push({ type: event.type, sealing, resolve, reject });
    });
  }

  /** Appends a turn's events in order once all are sealed, after the groups before it. */
  private appendGroup(group: readonly PendingAppend[], store: SessionStore): void {
    const sealed = Promise.allSettled(group.map((pending) => pending.sealing));
    const appended = this.appending.then(async () => {
      const outcomes = await sealed;
      for (let index = 0; index < group.length; index++) {
        const pending = group[index]!;
        const outcome = outcomes[index]!;
        if (outcome.status === 'rejected') {
          pending.reject(outcome.reason);
          continue;
        }
        const loggedEvent = outcome.value as LoggedSealedEvent;
        loggedEvent[SEALED_EVENT_TYPE] = pending.type;
        try {
          // The log holds plain and sealed events alike; consumers read the type with loggedTypeOf.
          await store.appendEvent(loggedEvent as unknown as StreamEvent);
          pending.resolve();
        } catch (error) {
          // A failed append must not block the ones after it; its caller gets the failure.
          pending.reject(error);
        }
      }
    });
    this.appending = appended.catch(() => undefined);
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
}

/** The type of a logged event: its own, or, for a sealed one, the type of the event it seals. */
export function loggedTypeOf(event: StreamEvent): StreamEvent['type'] {
  const sealedType = (event as { [SEALED_EVENT_TYPE]?: StreamEvent['type'] })[SEALED_EVENT_TYPE];
  return sealedType ?? event.type;
}
