import { deriveAesKey, deriveKeyMaterial, toSaltBytes } from './derive-shared-secret.js';
import type { Direction } from './direction.js';
import { encodeUtf8 } from './utf8.js';

/** HKDF `info` of each direction's key: the one thing that makes the two keys differ. */
export const DIRECTION_KEY_INFO: Readonly<Record<Direction, string>> = Object.freeze({
  'client-to-server': 'enclave-vm/v1 client-to-server',
  'server-to-client': 'enclave-vm/v1 server-to-client',
});

/** Options of {@link deriveDirectionalKeys}. */
export interface DeriveDirectionalKeysOptions {
  /**
   * HKDF salt, bytes or base64; both sides must use the same (e.g. `encryption.salt` of
   * `session_init`).
   * @default empty
   */
  salt?: Uint8Array | string;
}

/** The two AES-256-GCM keys of a conversation, one per direction. */
export interface DirectionalKeys {
  /** Encrypts what the client sends; the server decrypts with it. */
  clientToServer: CryptoKey;
  /** Encrypts what the server sends; the client decrypts with it. */
  serverToClient: CryptoKey;
}

/**
 * Derives one AES-256-GCM key per direction from one ECDH agreement: HKDF-SHA-256 with the same
 * salt and the infos of {@link DIRECTION_KEY_INFO}. Both parties compute the same pair. Separate keys
 * mean a message sent one way can never be accepted as a message of the other way (reflection).
 *
 * @param publicKey The peer's public key, as a `CryptoKey` or base64.
 * @example
 * const keys = await deriveDirectionalKeys(server.privateKey, clientPublicKey, { salt });
 * await encrypt(keys.serverToClient, text);
 */
export async function deriveDirectionalKeys(
  privateKey: CryptoKey,
  publicKey: CryptoKey | string,
  options: DeriveDirectionalKeysOptions = {},
): Promise<DirectionalKeys> {
  const keyMaterial = await deriveKeyMaterial(privateKey, publicKey);
  const salt = toSaltBytes(options.salt);
  const [clientToServer, serverToClient] = await Promise.all([
    deriveAesKey(keyMaterial, salt, encodeUtf8(DIRECTION_KEY_INFO['client-to-server'])),
    deriveAesKey(keyMaterial, salt, encodeUtf8(DIRECTION_KEY_INFO['server-to-client'])),
  ]);
  return { clientToServer, serverToClient };
}
