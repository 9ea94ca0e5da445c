import {
  createSessionCipher,
  exportPublicKey,
  generateKeyPair,
  type SealedMessage,
  type SessionCipher,
} from '@enclave-vm/stream';
import {
  EnclaveError,
  type EncryptedEvent,
  type EncryptionParams,
  type StreamEvent,
} from '@enclave-vm/types';

/** What {@link ClientSessionEncryption.openAll} resolves with. */
export type OpenedEvents = Awaited<ReturnType<SessionCipher['openEvents']>>;

/**
 * The client side of one encrypted session: its ECDH key pair, then, once `session_init` announced
 * the broker's key and salt, the session cipher that opens events and seals tool results.
 */
export class ClientSessionEncryption {
  private cipher: SessionCipher | undefined;

  private constructor(readonly keyPair: CryptoKeyPair) {}

  /** Uses the given key pair (a resumed session) or generates a new one. */
  static async create(keyPair?: CryptoKeyPair): Promise<ClientSessionEncryption> {
    if (keyPair !== undefined) {
      if (typeof keyPair !== 'object' || keyPair === null || keyPair.privateKey === undefined) {
        throw new EnclaveError(
          'CONFIGURATION_ERROR',
          'keyPair must be the CryptoKeyPair of the handle that started the session',
        );
      }
      return new ClientSessionEncryption(keyPair);
    }
    return new ClientSessionEncryption(await generateKeyPair());
  }

  /** The public key as `POST /execute` carries it (`encryption.publicKey`). */
  publicKey(): Promise<string> {
    return exportPublicKey(this.keyPair.publicKey);
  }

  /** Whether the cipher is ready (after `session_init`). */
  get started(): boolean {
    return this.cipher !== undefined;
  }

  /** Derives the session keys from `session_init`'s parameters; `ENCRYPTION_ERROR` when they are missing. */
  async start(sessionId: string, params: EncryptionParams | undefined): Promise<void> {
    if (params === undefined) {
      throw new EnclaveError(
        'ENCRYPTION_ERROR',
        `Session ${sessionId} was asked for encryption, but its session_init announces none: the broker does not support encrypted sessions, or the answer was altered`,
      );
    }
    this.cipher = await createSessionCipher({
      role: 'client',
      keyPair: this.keyPair,
      remotePublicKey: params.publicKey,
      sessionId,
      salt: params.salt,
    });
  }

  /** Opens a sealed event; `ENCRYPTION_ERROR` when it fails authentication. */
  open(event: EncryptedEvent): Promise<StreamEvent> {
    return this.requireCipher().openEvent(event);
  }

  /**
   * Opens consecutive sealed events with their decryptions overlapping. Resolves with the events
   * opened in order and, when one was refused, the `ENCRYPTION_ERROR` why (nothing after it is opened).
   */
  openAll(events: readonly EncryptedEvent[]): Promise<OpenedEvents> {
    return this.requireCipher().openEvents(events);
  }

  /** Seals a value for the broker (a tool result). */
  seal(value: unknown): Promise<SealedMessage> {
    return this.requireCipher().sealMessage(value);
  }

  private requireCipher(): SessionCipher {
    if (this.cipher === undefined) {
      throw new EnclaveError(
        'ENCRYPTION_ERROR',
        'An encrypted event arrived before session_init set up the keys',
      );
    }
    return this.cipher;
  }
}
