import { decodeBase64 } from './base64.js';
import { encryptionError } from './encryption-error.js';
import { assertPrivateKey, toPublicKey } from './key-pair.js';
import { encodeUtf8 } from './utf8.js';

/** HKDF `info` of {@link deriveSharedSecret} when none is given. */
export const DEFAULT_SHARED_SECRET_INFO = 'enclave-vm/v1 shared-secret';

/** Options of {@link deriveSharedSecret}. */
export interface DeriveSharedSecretOptions {
  /**
   * HKDF salt: bytes, or a base64 string (the form `session_init` announces it in). Both sides must
   * use the same salt. A random salt per session (see `generateSalt`) makes every session's keys
   * independent even if a key pair is reused. The empty default means HKDF's all-zero salt.
   * @default empty
   */
  salt?: Uint8Array | string;
  /**
   * HKDF info: bytes, or a string taken as UTF-8. Different infos give independent keys from the
   * same key pairs, which is how the channel separates its two directions.
   * @default 'enclave-vm/v1 shared-secret'
   */
  info?: Uint8Array | string;
  /**
   * Whether the derived AES key can be exported. Keep `false` unless you must store it.
   * @default false
   */
  extractable?: boolean;
}

/**
 * Derives an AES-256-GCM key shared with a peer: ECDH P-256 between your private key and the
 * peer's public key, then HKDF-SHA-256 over the 32-byte shared point with `salt` and `info`. Both
 * sides get the same key when each passes its own private key and the other's public key, with the
 * same options.
 *
 * @param publicKey The peer's public key, as a `CryptoKey` or as base64 of its raw point.
 * @example
 * const serverSecret = await deriveSharedSecret(serverKeys.privateKey, clientKeys.publicKey);
 * const clientSecret = await deriveSharedSecret(clientKeys.privateKey, serverKeys.publicKey);
 * // serverSecret and clientSecret encrypt and decrypt each other's messages
 */
export async function deriveSharedSecret(
  privateKey: CryptoKey,
  publicKey: CryptoKey | string,
  options: DeriveSharedSecretOptions = {},
): Promise<CryptoKey> {
  const keyMaterial = await deriveKeyMaterial(privateKey, publicKey);
  return deriveAesKey(keyMaterial, toSaltBytes(options.salt), toInfoBytes(options.info), options.extractable);
}

/**
 * The ECDH shared point of two keys, imported as HKDF key material (never extractable). Several AES
 * keys can be derived from it without repeating the ECDH step.
 */
export async function deriveKeyMaterial(
  privateKey: CryptoKey,
  publicKey: CryptoKey | string,
): Promise<CryptoKey> {
  assertPrivateKey(privateKey);
  const peerKey = await toPublicKey(publicKey);
  let sharedBits: ArrayBuffer;
  try {
    sharedBits = await globalThis.crypto.subtle.deriveBits(
      { name: 'ECDH', public: peerKey },
      privateKey,
      256,
    );
  } catch (error) {
    throw encryptionError(
      'ECDH key agreement failed: the private key cannot be used with this public key',
      error,
    );
  }
  return globalThis.crypto.subtle.importKey('raw', sharedBits, 'HKDF', false, ['deriveKey']);
}

/** HKDF-SHA-256 from key material to an AES-256-GCM key for encrypt and decrypt. */
export async function deriveAesKey(
  keyMaterial: CryptoKey,
  salt: Uint8Array<ArrayBuffer>,
  info: Uint8Array<ArrayBuffer>,
  extractable = false,
): Promise<CryptoKey> {
  try {
    return await globalThis.crypto.subtle.deriveKey(
      { name: 'HKDF', hash: 'SHA-256', salt, info },
      keyMaterial,
      { name: 'AES-GCM', length: 256 },
      extractable,
      ['encrypt', 'decrypt'],
    );
  } catch (error) {
    throw encryptionError('HKDF key derivation failed', error);
  }
}

/** The salt option as bytes: base64 strings decoded, empty when absent. */
export function toSaltBytes(salt: Uint8Array | string | undefined): Uint8Array<ArrayBuffer> {
  if (salt === undefined) return new Uint8Array(0);
  if (typeof salt === 'string') return decodeBase64(salt, 'The HKDF salt');
  if (salt instanceof Uint8Array) return new Uint8Array(salt);
  throw encryptionError('The HKDF salt must be a Uint8Array or a base64 string');
}

function toInfoBytes(info: Uint8Array | string | undefined): Uint8Array<ArrayBuffer> {
  if (info === undefined) return encodeUtf8(DEFAULT_SHARED_SECRET_INFO);
  if (typeof info === 'string') return encodeUtf8(info);
  if (info instanceof Uint8Array) return new Uint8Array(info);
  throw encryptionError('The HKDF info must be a Uint8Array or a string');
}
