import { EnclaveError, type EncryptedEvent, type StreamEvent } from '@enclave-vm/types';
import { AdditionalData, isSequenceNumber } from './additional-data.js';
import { deriveDirectionalKeys } from './derive-directional-keys.js';
import { assertRole, type ChannelRole } from './direction.js';
import { encryptBytes, openBytes } from './encrypt.js';
import { encryptionError } from './encryption-error.js';
import { fromJsonBytes, toJsonBytes } from './json-plaintext.js';
import { assertPrivateKey } from './key-pair.js';
import { ReplayWindow } from './replay-window.js';
import { SerialQueue } from './serial-queue.js';

/** How far below the highest opened counter {@link SessionCipher.openMessage} still accepts one. */
const DEFAULT_MESSAGE_REPLAY_WINDOW = 1024;

/** Options of {@link createSessionCipher}. */
export interface SessionCipherOptions {
  /** `'server'` seals events and opens messages (the broker); `'client'` does the opposite. */
  role: ChannelRole;
  /** This party's ECDH P-256 key pair (only the private key is used). */
  keyPair: Pick<CryptoKeyPair, 'privateKey'>;
  /** The peer's public key, as a `CryptoKey` or base64 of its raw point. */
  remotePublicKey: CryptoKey | string;
  /** The session every sealed event and message is bound to. */
  sessionId: string;
  /**
   * HKDF salt, bytes or base64: `encryption.salt` of `session_init` (see `generateSalt`).
   * @default empty
   */
  salt?: Uint8Array | string;
  /**
   * How many counters below the highest opened one {@link SessionCipher.openMessage} still accepts
   * (messages may arrive out of order; each counter is accepted once).
   * @default 1024
   */
  messageReplayWindow?: number;
}

/** A client→server value sealed by {@link SessionCipher.sealMessage}, e.g. an encrypted tool result. */
export interface SealedMessage {
  /** The sender's counter for this message, authenticated with it; each is accepted once. */
  counter: number;
  /** The 12-byte random nonce, base64. */
  iv: string;
  /** The ciphertext of the value's JSON, followed by the GCM tag, base64. */
  ciphertext: string;
}

/**
 * Event-level encryption of one session, in both directions. Events (server → client) keep their
 * envelope readable — `protocolVersion`, `sessionId`, `seq`, `ts` — so the broker can store, number
 * and replay them; the `{ type, payload }` inside is sealed with AES-256-GCM, bound by the additional
 * data to the session id, the seq and the direction. Messages (client → server, e.g. tool results)
 * are bound the same way to a per-direction counter.
 */
export interface SessionCipher {
  /** Which side this cipher serves. */
  readonly role: ChannelRole;
  /** The session it is bound to. */
  readonly sessionId: string;
  /** Seq of the newest event opened so far; 0 before the first. */
  readonly lastOpenedSeq: number;
  /**
   * Server side. Seals an event: same envelope, `type: 'encrypted'`, and a payload `{ iv, ciphertext }`
   * of the event's `{ type, payload }`. Throws `ENCRYPTION_ERROR` for an event of another session.
   */
  sealEvent(event: StreamEvent): Promise<EncryptedEvent>;
  /**
   * Client side. Opens a sealed event back into the plain event. Rejects with `ENCRYPTION_ERROR` an
   * event of another session, one whose seq is not greater than the last one opened (replayed or
   * reordered), and one whose envelope or ciphertext changed; a rejected event leaves the cipher
   * ready for the next valid one. A resume may legitimately replay events the client already has:
   * drop those by seq before opening. Calls are processed in the order they are made.
   */
  openEvent(encrypted: EncryptedEvent): Promise<StreamEvent>;
  /**
   * Client side. Seals a JSON value bound to the session and `counter`.
   * @param counter Positive integer, used once per message. @default one more than the last sealed
   */
  sealMessage(value: unknown, counter?: number): Promise<SealedMessage>;
  /**
   * Server side. Opens a message of {@link sealMessage}. Rejects with `ENCRYPTION_ERROR` a counter
   * already opened, one too far behind the highest, and any change to the message. Counters may
   * arrive out of order within the replay window.
   */
  openMessage(sealed: SealedMessage): Promise<unknown>;
}

/**
 * Creates the cipher of one encrypted session from this party's key pair and the peer's public key.
 * The broker creates the server side when `POST /execute` carries `encryption.publicKey`; the
 * client creates its side from `session_init`'s `encryption` parameters.
 *
 * @example
 * // broker
 * const cipher = await createSessionCipher({ role: 'server', keyPair, remotePublicKey: body.encryption.publicKey, sessionId, salt });
 * const sealed = await cipher.sealEvent(event);
 * // client
 * const cipher = await createSessionCipher({ role: 'client', keyPair, remotePublicKey: init.payload.encryption.publicKey, sessionId, salt: init.payload.encryption.salt });
 * const event = await cipher.openEvent(sealed);
 */
export async function createSessionCipher(options: SessionCipherOptions): Promise<SessionCipher> {
  assertRole(options.role);
  assertSessionId(options.sessionId);
  assertPrivateKey(options.keyPair?.privateKey);
  const window = options.messageReplayWindow ?? DEFAULT_MESSAGE_REPLAY_WINDOW;
  if (!Number.isSafeInteger(window) || window < 1) {
    throw new EnclaveError(
      'CONFIGURATION_ERROR',
      `messageReplayWindow must be a positive integer, got ${window}`,
    );
  }
  const keys = await deriveDirectionalKeys(options.keyPair.privateKey, options.remotePublicKey, {
    salt: options.salt,
  });
  return new DirectionalSessionCipher(options.role, options.sessionId, keys, window);
}

class DirectionalSessionCipher implements SessionCipher {
  lastOpenedSeq = 0;
  private lastSealedCounter = 0;
  private readonly eventData: AdditionalData;
  private readonly messageData: AdditionalData;
  private readonly openQueue = new SerialQueue();
  private readonly replayWindow: ReplayWindow;

  constructor(
    readonly role: ChannelRole,
    readonly sessionId: string,
    private readonly keys: { clientToServer: CryptoKey; serverToClient: CryptoKey },
    messageReplayWindow: number,
  ) {
    this.eventData = new AdditionalData('stream-event', 'server-to-client', sessionId);
    this.messageData = new AdditionalData('client-message', 'client-to-server', sessionId);
    this.replayWindow = new ReplayWindow(messageReplayWindow);
  }

  async sealEvent(event: StreamEvent): Promise<EncryptedEvent> {
    this.requireRole('server', 'seal events');
    if (typeof event !== 'object' || event === null || typeof event.type !== 'string') {
      throw encryptionError(
        'sealEvent expects a stream event { protocolVersion, sessionId, seq, ts, type, payload }',
      );
    }
    if ((event.type as string) === 'encrypted')
      throw encryptionError(`Event seq ${event.seq} is already encrypted`);
    this.requireSession(event.sessionId, 'event');
    if (!isSequenceNumber(event.seq))
      throw encryptionError(`An event seq must be a positive integer, got ${event.seq}`);
    const plaintext = toJsonBytes({ type: event.type, payload: event.payload }, 'event');
    const payload = await encryptBytes(this.keys.serverToClient, plaintext, this.eventData.for(event.seq));
    return {
      protocolVersion: event.protocolVersion,
      sessionId: event.sessionId,
      seq: event.seq,
      ts: event.ts,
      type: 'encrypted',
      payload,
    };
  }

  openEvent(encrypted: EncryptedEvent): Promise<StreamEvent> {
    return this.openQueue.run(() => this.openEventNow(encrypted));
  }

  async sealMessage(value: unknown, counter: number = this.lastSealedCounter + 1): Promise<SealedMessage> {
    this.requireRole('client', 'seal messages');
    if (!isSequenceNumber(counter)) {
      throw encryptionError(`A message counter must be a positive integer, got ${counter}`);
    }
    if (counter > this.lastSealedCounter) this.lastSealedCounter = counter;
    const plaintext = toJsonBytes(value, 'message');
    const payload = await encryptBytes(this.keys.clientToServer, plaintext, this.messageData.for(counter));
    return { counter, iv: payload.iv, ciphertext: payload.ciphertext };
  }

  openMessage(sealed: SealedMessage): Promise<unknown> {
    return this.openQueue.run(() => this.openMessageNow(sealed));
  }

  private async openEventNow(encrypted: EncryptedEvent): Promise<StreamEvent> {
    this.requireRole('client', 'open events');
    if (typeof encrypted !== 'object' || encrypted === null || encrypted.type !== 'encrypted') {
      throw encryptionError("openEvent expects an event of type 'encrypted'");
    }
    this.requireSession(encrypted.sessionId, 'event');
    const seq = encrypted.seq;
    if (!isSequenceNumber(seq)) throw encryptionError(`An event seq must be a positive integer, got ${seq}`);
    if (seq <= this.lastOpenedSeq) {
      throw encryptionError(
        `Event seq ${seq} is not after the last opened event (seq ${this.lastOpenedSeq}): it is replayed or out of order. ` +
          'Drop events already received (by seq) before opening, as a resume replays them',
      );
    }
    const plaintext = await openBytes(
      this.keys.serverToClient,
      encrypted.payload,
      this.eventData.for(seq),
      `Event seq ${seq} of session ${this.sessionId} failed authentication: it was changed in transit, ` +
        'or sealed with another key or for another session, seq or direction',
    );
    const inner = fromJsonBytes(plaintext, 'event') as { type?: unknown; payload?: unknown } | null;
    if (
      typeof inner !== 'object' ||
      inner === null ||
      typeof inner.type !== 'string' ||
      inner.type === 'encrypted'
    ) {
      throw encryptionError(`The decrypted event seq ${seq} is not { type, payload }`);
    }
    this.lastOpenedSeq = seq;
    return {
      protocolVersion: encrypted.protocolVersion,
      sessionId: encrypted.sessionId,
      seq,
      ts: encrypted.ts,
      type: inner.type,
      payload: inner.payload,
    } as StreamEvent;
  }

  private async openMessageNow(sealed: SealedMessage): Promise<unknown> {
    this.requireRole('server', 'open messages');
    if (typeof sealed !== 'object' || sealed === null) {
      throw encryptionError('openMessage expects a sealed message { counter, iv, ciphertext }');
    }
    const counter = sealed.counter;
    if (!isSequenceNumber(counter)) {
      throw encryptionError(`A message counter must be a positive integer, got ${counter}`);
    }
    const refusal = this.replayWindow.check(counter);
    if (refusal !== undefined) throw encryptionError(`Message refused: ${refusal}`);
    const plaintext = await openBytes(
      this.keys.clientToServer,
      sealed,
      this.messageData.for(counter),
      `Message ${counter} of session ${this.sessionId} failed authentication: it was changed in transit, ` +
        'or sealed with another key or for another session, counter or direction',
    );
    const value = fromJsonBytes(plaintext, 'message');
    this.replayWindow.accept(counter);
    return value;
  }

  private requireRole(role: ChannelRole, action: string): void {
    if (this.role !== role) {
      throw new EnclaveError(
        'CONFIGURATION_ERROR',
        `Only a '${role}' session cipher can ${action}; this one was created with role '${this.role}'`,
      );
    }
  }

  private requireSession(sessionId: unknown, what: string): void {
    if (sessionId !== this.sessionId) {
      throw encryptionError(
        `The ${what} belongs to session ${JSON.stringify(sessionId)}, but this cipher is bound to session ${JSON.stringify(this.sessionId)}`,
      );
    }
  }
}

function assertSessionId(sessionId: unknown): asserts sessionId is string {
  if (typeof sessionId !== 'string' || sessionId.length === 0) {
    throw new EnclaveError('CONFIGURATION_ERROR', 'sessionId must be a non-empty string');
  }
}
