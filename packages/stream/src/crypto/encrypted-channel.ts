import { EnclaveError, toEnclaveError } from '@enclave-vm/types';
import type { Transport } from '../transport/transport.js';
import { isSequenceNumber } from './additional-data.js';
import { deriveDirectionalKeys } from './derive-directional-keys.js';
import { assertRole, type ChannelRole } from './direction.js';
import { encryptionError } from './encryption-error.js';
import { fromJsonBytes, toJsonBytes } from './json-plaintext.js';
import { assertPrivateKey, exportPublicKey, generateKeyPair, toPublicKey } from './key-pair.js';
import { createSealingDirections, type SealingDirection } from './sealing-direction.js';
import { SerialQueue } from './serial-queue.js';

/** One encrypted message of an {@link EncryptedChannel}, as it travels (JSON-compatible). */
export interface EncryptedFrame {
  /** Marks the object as a channel frame. */
  type: 'encrypted_frame';
  /** Role of the channel that sent it; a channel refuses frames of its own role (reflection). */
  sender: ChannelRole;
  /** Session the frame is bound to (authenticated). */
  sessionId: string;
  /** Position of the frame in its direction, from 1, one more per frame (authenticated). */
  seq: number;
  /** The 12-byte random nonce, base64. */
  iv: string;
  /** Ciphertext of the message's JSON followed by the GCM tag, base64. */
  ciphertext: string;
  /** The sender's public key (base64), carried until the sender has received a valid frame back. */
  publicKey?: string;
}

/** Options of {@link createEncryptedChannel}. */
export interface EncryptedChannelOptions {
  /** `'client'` or `'server'`; the two ends of a channel must have different roles. */
  role: ChannelRole;
  /**
   * The peer's public key (`CryptoKey` or base64). Without it the channel cannot send until it
   * learns the key: from the first valid frame it receives, or through `setRemotePublicKey`.
   * @default learned from the peer's first frame
   */
  remotePublicKey?: CryptoKey | string;
  /**
   * Session the frames are bound to; both ends must use the same.
   * @default ''
   */
  sessionId?: string;
  /**
   * This end's ECDH P-256 key pair.
   * @default a fresh pair from `generateKeyPair()`
   */
  keyPair?: CryptoKeyPair;
  /**
   * HKDF salt (bytes or base64); both ends must use the same.
   * @default empty
   */
  salt?: Uint8Array | string;
  /** Called with each decrypted message, in order. */
  onMessage: (message: unknown) => void;
  /**
   * Called when a frame that arrived through `transport` is refused (`ENCRYPTION_ERROR`), when
   * `onMessage` throws, and with errors of the transport. Refused frames change nothing: later
   * valid frames are still accepted.
   * @default errors of transport-delivered frames are dropped
   */
  onError?: (error: EnclaveError) => void;
  /** Called once when the channel has closed (by `close()` or by its transport). */
  onClose?: () => void;
  /**
   * Where frames go and come from. The channel takes it over: it sets its callbacks, starts it,
   * sends each frame through it, and closes it on `close()`.
   * @default none: `send` only returns frames and the caller passes frames to `receive`
   */
  transport?: Transport;
}

/**
 * An end-to-end encrypted, ordered conversation with one peer: ECDH P-256 key agreement, one
 * AES-256-GCM key per direction, every frame bound to its session id, sequence number and
 * direction.
 */
export interface EncryptedChannel {
  /** This end's role. */
  readonly role: ChannelRole;
  /** The session the frames are bound to. */
  readonly sessionId: string;
  /** True once the peer's key is known and a valid frame from the peer proved it knows ours. */
  readonly handshakeComplete: boolean;
  /** True once `close()` was called or the transport closed. */
  readonly closed: boolean;
  /** This end's public key, base64 of its raw point: give it to the peer. */
  getPublicKey(): string;
  /** The peer's public key (base64), once known. */
  getRemotePublicKey(): string | undefined;
  /**
   * Sets the peer's public key. Resolves when the keys are derived. Rejects with
   * `ENCRYPTION_ERROR` when the key is invalid or differs from the one already known.
   */
  setRemotePublicKey(publicKey: CryptoKey | string): Promise<void>;
  /**
   * Encrypts a JSON value into the next frame and, with a transport, sends it. Frames leave in the
   * order of the calls. Rejects with `ENCRYPTION_ERROR` before the peer's key is known,
   * `BAD_REQUEST` for a value JSON cannot carry, `CONNECTION_CLOSED` after close.
   */
  send(message: unknown): Promise<EncryptedFrame>;
  /**
   * Decrypts a frame, calls `onMessage` with its message and resolves with it. Only the next
   * sequence number is accepted: a tampered, replayed, reordered, reflected or foreign-session frame
   * is rejected with `ENCRYPTION_ERROR` and changes nothing. Frames are processed in call order.
   */
  receive(frame: unknown): Promise<unknown>;
  /** Sends what `send` already accepted, then closes the transport. Idempotent. */
  close(): Promise<void>;
}

/**
 * Creates one end of an encrypted channel. The end that knows the other's public key sends first;
 * its frames carry its own public key, so the other end learns it from the first frame (a server
 * created with no remote key answers once the client has written).
 *
 * @example
 * const server = await createEncryptedChannel({ role: 'server', onMessage: (message) => console.log(message) });
 * const client = await createEncryptedChannel({
 *   role: 'client',
 *   remotePublicKey: server.getPublicKey(),
 *   onMessage: (message) => console.log(message),
 * });
 * const frame = await client.send({ type: 'tool_call', name: 'secretOp', args: {} });
 * await server.receive(frame); // server learns the client's key, logs the message
 */
export async function createEncryptedChannel(options: EncryptedChannelOptions): Promise<EncryptedChannel> {
  assertRole(options.role);
  if (typeof options.onMessage !== 'function') {
    throw new EnclaveError('CONFIGURATION_ERROR', 'onMessage must be a function');
  }
  const sessionId = options.sessionId ?? '';
  if (typeof sessionId !== 'string')
    throw new EnclaveError('CONFIGURATION_ERROR', 'sessionId must be a string');
  const keyPair = options.keyPair ?? (await generateKeyPair());
  assertPrivateKey(keyPair.privateKey);
  const channel = new DirectionalEncryptedChannel(
    options,
    sessionId,
    keyPair,
    await exportPublicKey(keyPair.publicKey),
  );
  if (options.remotePublicKey !== undefined) await channel.setRemotePublicKey(options.remotePublicKey);
  await channel.attach(options.transport);
  return channel;
}

/** What the channel knows of its peer: its key and the two directions derived with it. */
interface Peer {
  publicKey: string;
  sending: SealingDirection;
  receiving: SealingDirection;
}

const FRAME_TYPE = 'encrypted_frame';

/** Frames travel both ways, each direction under its own key. */
const FRAME_KINDS = { 'client-to-server': 'channel-frame', 'server-to-client': 'channel-frame' } as const;

class DirectionalEncryptedChannel implements EncryptedChannel {
  readonly role: ChannelRole;
  private peer: Peer | undefined;
  private peerConfirmed = false;
  private lastSentSeq = 0;
  private lastReceivedSeq = 0;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private closing: Promise<void> | undefined;
  private finished: Promise<void> | undefined;
  private transport: Transport | undefined;
  private readonly sendQueue = new SerialQueue();
  private readonly receiveQueue = new SerialQueue();

  constructor(
    private readonly options: EncryptedChannelOptions,
    readonly sessionId: string,
    private readonly keyPair: CryptoKeyPair,
    private readonly publicKey: string,
  ) {
    this.role = options.role;
  }

  get handshakeComplete(): boolean {
    return this.peer !== undefined && this.peerConfirmed;
  }

  get closed(): boolean {
    return this.state !== 'open';
  }

  getPublicKey(): string {
    return this.publicKey;
  }

  getRemotePublicKey(): string | undefined {
    return this.peer?.publicKey;
  }

  async setRemotePublicKey(publicKey: CryptoKey | string): Promise<void> {
    const candidate = await this.derivePeer(publicKey);
    this.adoptPeer(candidate);
  }

  async send(message: unknown): Promise<EncryptedFrame> {
    this.requireOpen();
    // Serialize before taking a seq: a refused value must not leave a gap the peer would refuse.
    const plaintext = toJsonBytes(message, 'message');
    const peer = this.peer;
    if (peer === undefined) {
      throw encryptionError(
        "Cannot send before the peer's public key is known: pass remotePublicKey, call setRemotePublicKey, " +
          "or wait for the peer's first frame",
      );
    }
    const seq = ++this.lastSentSeq;
    const publicKey = this.peerConfirmed ? undefined : this.publicKey;
    // Encryption starts now; the queue only orders what leaves, so frames go out by seq.
    const sealed = peer.sending.seal(plaintext, seq);
    // Its failure is reported when its turn comes; until then it must not count as unhandled.
    sealed.catch(() => undefined);
    return this.sendQueue.run(async () => {
      const payload = await sealed;
      const frame: EncryptedFrame = {
        type: FRAME_TYPE,
        sender: this.role,
        sessionId: this.sessionId,
        seq,
        iv: payload.iv,
        ciphertext: payload.ciphertext,
      };
      if (publicKey !== undefined) frame.publicKey = publicKey;
      if (this.transport !== undefined) await this.transport.send(frame);
      return frame;
    });
  }

  receive(frame: unknown): Promise<unknown> {
    // Checked on arrival, not when the frame's turn comes: frames that arrived before the close
    // are still opened and delivered.
    if (this.state === 'closed') {
      return Promise.reject(new EnclaveError('CONNECTION_CLOSED', 'The encrypted channel is closed'));
    }
    return this.receiveQueue.run(() => this.receiveNow(frame));
  }

  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  /** Wires the transport's callbacks to this channel and starts it. */
  async attach(transport: Transport | undefined): Promise<void> {
    if (transport === undefined) return;
    this.transport = transport;
    transport.onmessage = (message) => {
      this.receive(message).catch((error: unknown) => this.report(error));
    };
    transport.onerror = (error) => this.report(error);
    transport.onclose = () => {
      void this.finish();
    };
    await transport.start();
  }

  private async receiveNow(input: unknown): Promise<unknown> {
    const frame = this.checkFrame(input);
    const seq = frame.seq;
    const expected = this.lastReceivedSeq + 1;
    if (seq !== expected) {
      throw encryptionError(
        seq < expected
          ? `Frame seq ${seq} was already received (replay): the next expected is ${expected}`
          : `Frame seq ${seq} is out of order: expected ${expected}, an earlier frame is missing`,
      );
    }
    let peer = this.peer;
    if (peer !== undefined) {
      if (frame.publicKey !== undefined && frame.publicKey !== peer.publicKey) {
        throw encryptionError(
          "The frame carries a public key other than the peer's: it comes from another party",
        );
      }
    } else {
      if (frame.publicKey === undefined) {
        throw encryptionError(
          "The peer's public key is unknown and the frame does not carry one: the first frame must carry it " +
            '(or call setRemotePublicKey)',
        );
      }
      // Only a frame that decrypts makes its key the peer's: a forged first frame changes nothing.
      peer = await this.derivePeer(frame.publicKey);
    }
    const plaintext = await peer.receiving.open(
      frame,
      seq,
      `Frame seq ${seq} failed authentication: it was changed in transit, or encrypted with another key ` +
        'or for another session, seq or direction',
    );
    const message = fromJsonBytes(plaintext, 'frame');
    this.adoptPeer(peer);
    this.lastReceivedSeq = seq;
    this.peerConfirmed = true;
    this.options.onMessage(message);
    return message;
  }

  private checkFrame(input: unknown): EncryptedFrame {
    if (typeof input !== 'object' || input === null || (input as { type?: unknown }).type !== FRAME_TYPE) {
      throw encryptionError(`Not an encrypted frame: expected an object with type '${FRAME_TYPE}'`);
    }
    const frame = input as Record<string, unknown>;
    if (frame.sender !== 'client' && frame.sender !== 'server') {
      throw encryptionError("A frame's sender must be 'client' or 'server'");
    }
    if (frame.sender === this.role) {
      throw encryptionError(
        `The frame was sent by a ${this.role}, the role of this channel: a frame reflected back to its sender is refused`,
      );
    }
    if (frame.sessionId !== this.sessionId) {
      throw encryptionError(
        `The frame belongs to session ${JSON.stringify(frame.sessionId)}, but this channel is bound to session ${JSON.stringify(this.sessionId)}`,
      );
    }
    if (!isSequenceNumber(frame.seq)) throw encryptionError('A frame seq must be a positive integer');
    if (typeof frame.iv !== 'string' || typeof frame.ciphertext !== 'string') {
      throw encryptionError('A frame needs base64 strings `iv` and `ciphertext`');
    }
    if (frame.publicKey !== undefined && typeof frame.publicKey !== 'string') {
      throw encryptionError("A frame's publicKey must be a base64 string");
    }
    return frame as unknown as EncryptedFrame;
  }

  private async derivePeer(publicKey: CryptoKey | string): Promise<Peer> {
    const key = await toPublicKey(publicKey);
    const encoded = typeof publicKey === 'string' ? publicKey : await exportPublicKey(key);
    const keys = await deriveDirectionalKeys(this.keyPair.privateKey, key, { salt: this.options.salt });
    const { sending, receiving } = createSealingDirections(keys, this.role, this.sessionId, FRAME_KINDS);
    return { publicKey: encoded, sending, receiving };
  }

  private adoptPeer(candidate: Peer): void {
    if (this.peer === undefined) {
      this.peer = candidate;
      return;
    }
    if (this.peer.publicKey !== candidate.publicKey) {
      throw encryptionError(
        "The channel already has the peer's public key; a channel talks to one peer only",
      );
    }
  }

  private requireOpen(): void {
    if (this.state !== 'open') throw new EnclaveError('CONNECTION_CLOSED', 'The encrypted channel is closed');
  }

  private report(error: unknown): void {
    this.options.onError?.(toEnclaveError(error));
  }

  private async closeNow(): Promise<void> {
    if (this.state === 'open') this.state = 'closing';
    await this.sendQueue.idle();
    await this.transport?.close();
    await this.finish();
  }

  /** Refuses new work now; calls `onClose` once the frames that arrived before have been handled. */
  private finish(): Promise<void> {
    this.state = 'closed';
    this.finished ??= this.receiveQueue.idle().then(() => {
      try {
        this.options.onClose?.();
      } catch (error) {
        this.report(error);
      }
    });
    return this.finished;
  }
}
