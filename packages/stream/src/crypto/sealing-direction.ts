import { AdditionalData, type SealedKind } from './additional-data.js';
import type { DirectionalKeys } from './derive-directional-keys.js';
import type { ChannelRole, Direction } from './direction.js';
import { type EncryptedPayload, encryptBytes, openBytes, sealBytesNow } from './encrypt.js';

/**
 * One direction of an encrypted conversation: its AES-256-GCM key and the additional data that
 * binds every item sealed in it to its kind, its direction, its session and its counter. Both
 * designs of this package are made of two of these: `SessionCipher` (events server → client,
 * messages client → server) and `createEncryptedChannel` (frames both ways).
 */
export class SealingDirection {
  /** The additional data of this direction, per counter. */
  readonly additionalData: AdditionalData;

  constructor(
    /** The AES-256-GCM key of this direction. */
    readonly key: CryptoKey,
    kind: SealedKind,
    readonly direction: Direction,
    sessionId: string,
  ) {
    this.additionalData = new AdditionalData(kind, direction, sessionId);
  }

  /** Seals bytes bound to `counter`, under a fresh random IV. */
  seal(plaintext: Uint8Array<ArrayBuffer>, counter: number): Promise<EncryptedPayload> {
    return encryptBytes(this.key, plaintext, this.additionalData.for(counter));
  }

  /** Seals text or bytes bound to `counter` synchronously: only where `hasSyncAesGcm`. */
  sealNow(plaintext: string | Uint8Array, counter: number): EncryptedPayload {
    return sealBytesNow(this.key, plaintext, this.additionalData.current(counter));
  }

  /**
   * Opens a payload sealed in this direction for `counter`. Rejects with `ENCRYPTION_ERROR` and
   * `failureMessage` when it does not authenticate.
   */
  open(payload: EncryptedPayload, counter: number, failureMessage: string): Promise<Uint8Array> {
    return openBytes(this.key, payload, this.additionalData.for(counter), failureMessage);
  }
}

/** The two directions of a conversation, named by the parties and by one party's role. */
export interface SealingDirections {
  /** What the client sends and the server opens. */
  clientToServer: SealingDirection;
  /** What the server sends and the client opens. */
  serverToClient: SealingDirection;
  /** The direction this party seals in. */
  sending: SealingDirection;
  /** The direction this party opens. */
  receiving: SealingDirection;
}

/**
 * The two directions of a conversation of `role`, from the keys of `deriveDirectionalKeys`, each
 * bound to `sessionId` and to the kind of item it carries.
 */
export function createSealingDirections(
  keys: DirectionalKeys,
  role: ChannelRole,
  sessionId: string,
  kinds: Readonly<Record<Direction, SealedKind>>,
): SealingDirections {
  const clientToServer = new SealingDirection(
    keys.clientToServer,
    kinds['client-to-server'],
    'client-to-server',
    sessionId,
  );
  const serverToClient = new SealingDirection(
    keys.serverToClient,
    kinds['server-to-client'],
    'server-to-client',
    sessionId,
  );
  return role === 'client'
    ? { clientToServer, serverToClient, sending: clientToServer, receiving: serverToClient }
    : { clientToServer, serverToClient, sending: serverToClient, receiving: clientToServer };
}
