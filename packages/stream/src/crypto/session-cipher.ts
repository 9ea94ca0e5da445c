import { EnclaveError, type EncryptedEvent, type StreamEvent } from '@enclave-vm/types';
import { isSequenceNumber } from './additional-data.js';
import { ConcurrencyLimit } from './concurrency-limit.js';
import { deriveDirectionalKeys } from './derive-directional-keys.js';
import { assertRole, type ChannelRole } from './direction.js';
import { type EncryptedPayload, hasSyncAesGcm } from './encrypt.js';
import { encryptionError } from './encryption-error.js';
import { EventOpener, type OpenedEvents } from './event-opener.js';
import { fromJsonBytes, toJsonBytes, toJsonText } from './json-plaintext.js';
import { assertPrivateKey } from './key-pair.js';
import { ReplayWindow } from './replay-window.js';
import {
  createSealingDirections,
  type SealingDirection,
  type SealingDirections,
} from './sealing-direction.js';
import { SerialQueue } from './serial-queue.js';
import { encodeUtf8 } from './utf8.js';

/** How far below the highest opened counter {@link SessionCipher.openMessage} still accepts one. */
const DEFAULT_MESSAGE_REPLAY_WINDOW = 1024;
/** AES-GCM operations of one kind (opening events, sealing events) in flight at once, by default. */
const DEFAULT_MAX_IN_FLIGHT = 64;

export type { OpenedEvents };

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
  /**
   * How many AES-GCM operations {@link SessionCipher.openEvent}/{@link SessionCipher.openEvents}
   * run at once, and, separately, how many {@link SessionCipher.sealEvent}/{@link SessionCipher.sealEvents}
   * run at once. Web Crypto does far more per second when calls overlap; the bound keeps the memory
   * of a burst in check (events beyond it wait their turn, in order).
   * @default 64
   */
  maxInFlight?: number;
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
   * Server side. Seals several events, their AES-GCM operations overlapping (at most `maxInFlight`
   * at a time); resolves with them in the same order. Rejects like {@link sealEvent} when any event
   * cannot be sealed.
   */
  sealEvents(events: readonly StreamEvent[]): Promise<EncryptedEvent[]>;
  /**
   * Client side. Opens a sealed event back into the plain event. Rejects with `ENCRYPTION_ERROR` an
   * event of another session, one whose seq is not greater than the last one opened (replayed or
   * reordered), and one whose envelope or ciphertext changed; a rejected event leaves the cipher
   * ready for the next valid one. A resume may legitimately replay events the client already has:
   * drop those by seq before opening. Calls are processed as if one at a time in the order they are
   * made (results settle in that order), while the decryptions of concurrent calls overlap.
   */
  openEvent(encrypted: EncryptedEvent): Promise<StreamEvent>;
  /**
   * Client side. Opens a batch of sealed events (e.g. the lines of one network read) in order, their
   * decryptions overlapping (at most `maxInFlight` at a time). Never rejects: it resolves with the
   * events opened, and, when one was refused as {@link openEvent} would refuse it, with `failure`;
   * then the events after the refused one are not opened and change nothing (offer them again, or
   * later events, as to {@link openEvent}).
   */
  openEvents(events: readonly EncryptedEvent[]): Promise<OpenedEvents>;
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
  const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  if (!Number.isSafeInteger(maxInFlight) || maxInFlight < 1) {
    throw new EnclaveError(
      'CONFIGURATION_ERROR',
      `maxInFlight must be a positive integer, got ${maxInFlight}`,
    );
  }
  const keys = await deriveDirectionalKeys(options.keyPair.privateKey, options.remotePublicKey, {
    salt: options.salt,
  });
  const directions = createSealingDirections(keys, options.role, options.sessionId, SESSION_KINDS);
  return new DirectionalSessionCipher(options.role, options.sessionId, directions, window, maxInFlight);
}

/** What each direction of a session carries: events to the client, messages to the server. */
const SESSION_KINDS = { 'server-to-client': 'stream-event', 'client-to-server': 'client-message' } as const;

class DirectionalSessionCipher implements SessionCipher {
  private lastSealedCounter = 0;
  private readonly events: SealingDirection;
  private readonly messages: SealingDirection;
  private readonly messageQueue = new SerialQueue();
  private readonly replayWindow: ReplayWindow;
  private readonly opener: EventOpener;
  private readonly sealing: ConcurrencyLimit;

  constructor(
    readonly role: ChannelRole,
    readonly sessionId: string,
    directions: SealingDirections,
    messageReplayWindow: number,
    maxInFlight: number,
  ) {
    this.events = directions.serverToClient;
    this.messages = directions.clientToServer;
    this.replayWindow = new ReplayWindow(messageReplayWindow);
    this.opener = new EventOpener(this.events.key, this.events.additionalData, sessionId, maxInFlight);
    this.sealing = new ConcurrencyLimit(maxInFlight);
  }

  get lastOpenedSeq(): number {
    return this.opener.lastOpenedSeq;
  }

  async sealEvent(event: StreamEvent): Promise<EncryptedEvent> {
    if (hasSyncAesGcm) return this.sealEventNow(event);
    const plaintext = encodeUtf8(this.eventPlaintext(event));
    const slot = this.sealing.acquire();
    if (slot !== undefined) await slot;
    let payload: EncryptedPayload;
    try {
      payload = await this.events.seal(plaintext, event.seq);
    } finally {
      this.sealing.release();
    }
    return sealedEvent(event, payload);
  }

  sealEvents(events: readonly StreamEvent[]): Promise<EncryptedEvent[]> {
    if (!hasSyncAesGcm) return Promise.all(events.map((event) => this.sealEvent(event)));
    // node:crypto: every event is sealed now, in order, without a promise per event.
    try {
      const sealed: EncryptedEvent[] = new Array(events.length);
      for (let index = 0; index < events.length; index++) {
        sealed[index] = this.sealEventNow(events[index] as StreamEvent);
      }
      return Promise.resolve(sealed);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Seals an event synchronously (node:crypto only). */
  private sealEventNow(event: StreamEvent): EncryptedEvent {
    const plaintext = this.eventPlaintext(event);
    return sealedEvent(event, this.events.sealNow(plaintext, event.seq));
  }

  /** Checks an event to seal and returns the JSON text of its `{ type, payload }`. */
  private eventPlaintext(event: StreamEvent): string {
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
    return toJsonText({ type: event.type, payload: event.payload }, 'event');
  }

  openEvent(encrypted: EncryptedEvent): Promise<StreamEvent> {
    if (this.role !== 'client') return Promise.reject(this.roleError('client', 'open events'));
    return this.opener.open(encrypted);
  }

  openEvents(events: readonly EncryptedEvent[]): Promise<OpenedEvents> {
    if (this.role !== 'client') return Promise.reject(this.roleError('client', 'open events'));
    return this.opener.openAll(events);
  }

  async sealMessage(value: unknown, counter: number = this.lastSealedCounter + 1): Promise<SealedMessage> {
    this.requireRole('client', 'seal messages');
    if (!isSequenceNumber(counter)) {
      throw encryptionError(`A message counter must be a positive integer, got ${counter}`);
    }
    if (counter > this.lastSealedCounter) this.lastSealedCounter = counter;
    const plaintext = toJsonBytes(value, 'message');
    const payload = await this.messages.seal(plaintext, counter);
    return { counter, iv: payload.iv, ciphertext: payload.ciphertext };
  }

  openMessage(sealed: SealedMessage): Promise<unknown> {
    return this.messageQueue.run(() => this.openMessageNow(sealed));
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
    const plaintext = await this.messages.open(
      sealed,
      counter,
      `Message ${counter} of session ${this.sessionId} failed authentication: it was changed in transit, ` +
        'or sealed with another key or for another session, counter or direction',
    );
    const value = fromJsonBytes(plaintext, 'message');
    this.replayWindow.accept(counter);
    return value;
  }

  private requireRole(role: ChannelRole, action: string): void {
    if (this.role !== role) throw this.roleError(role, action);
  }

  private roleError(role: ChannelRole, action: string): EnclaveError {
    return new EnclaveError(
      'CONFIGURATION_ERROR',
      `Only a '${role}' session cipher can ${action}; this one was created with role '${this.role}'`,
    );
  }

  private requireSession(sessionId: unknown, what: string): void {
    if (sessionId !== this.sessionId) {
      throw encryptionError(
        `The ${what} belongs to session ${JSON.stringify(sessionId)}, but this cipher is bound to session ${JSON.stringify(this.sessionId)}`,
      );
    }
  }
}

/** The sealed form of an event: the same envelope, its `{ type, payload }` in `payload`. */
function sealedEvent(event: StreamEvent, payload: EncryptedPayload): EncryptedEvent {
  return {
    protocolVersion: event.protocolVersion,
    sessionId: event.sessionId,
    seq: event.seq,
    ts: event.ts,
    type: 'encrypted',
    payload,
  };
}

function assertSessionId(sessionId: unknown): asserts sessionId is string {
  if (typeof sessionId !== 'string' || sessionId.length === 0) {
    throw new EnclaveError('CONFIGURATION_ERROR', 'sessionId must be a non-empty string');
  }
}
