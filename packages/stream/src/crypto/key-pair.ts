import { decodeBase64, encodeBase64 } from './base64.js';
import { encryptionError } from './encryption-error.js';

/** The key agreement algorithm of every EnclaveJS key pair. */
export const ECDH_P256: EcKeyImportParams = { name: 'ECDH', namedCurve: 'P-256' };

/** Length in bytes of an uncompressed P-256 point (0x04 ‖ x ‖ y), the raw public key format. */
const RAW_PUBLIC_KEY_LENGTH = 65;

/** Options of {@link generateKeyPair}. */
export interface GenerateKeyPairOptions {
  /**
   * Whether the private key can be exported. Keep it `false` unless the key must be stored or moved
   * to another process: a non-extractable key cannot leak through a bug that serializes it.
   * @default false
   */
  extractable?: boolean;
}

/**
 * Generates an ECDH P-256 key pair with Web Crypto (Node 20+ and browsers). The public key is
 * always exportable (see {@link exportPublicKey}); the private key only when asked.
 *
 * @example
 * const { publicKey, privateKey } = await generateKeyPair();
 */
export async function generateKeyPair(options: GenerateKeyPairOptions = {}): Promise<CryptoKeyPair> {
  try {
    return await globalThis.crypto.subtle.generateKey(ECDH_P256, options.extractable ?? false, [
      'deriveBits',
    ]);
  } catch (error) {
    throw encryptionError('Could not generate an ECDH P-256 key pair', error);
  }
}

/**
 * The public key as base64 of its raw uncompressed point (65 bytes, 88 characters), the form keys
 * travel in inside JSON (`encryption.publicKey` of `POST /execute`, `session_init`, channel frames).
 *
 * @example
 * const body = { encryption: { publicKey: await exportPublicKey(keys.publicKey) } };
 */
export async function exportPublicKey(publicKey: CryptoKey): Promise<string> {
  if (!isEcdhKey(publicKey) || publicKey.type !== 'public') {
    throw encryptionError('exportPublicKey expects the public key of an ECDH P-256 key pair');
  }
  try {
    return encodeBase64(new Uint8Array(await globalThis.crypto.subtle.exportKey('raw', publicKey)));
  } catch (error) {
    throw encryptionError('Could not export the public key', error);
  }
}

/**
 * Imports a peer's public key from the base64 of its raw uncompressed P-256 point. Throws an
 * `ENCRYPTION_ERROR` when the text is not base64, has the wrong length, or is not a point of the
 * curve (so an invalid-curve attack cannot get through).
 *
 * @example
 * const serverKey = await importPublicKey(sessionInit.payload.encryption.publicKey);
 */
export async function importPublicKey(base64: string): Promise<CryptoKey> {
  if (typeof base64 !== 'string') {
    throw encryptionError('A public key must be a base64 string of a raw P-256 point');
  }
  const raw = decodeBase64(base64, 'The public key');
  if (raw.length !== RAW_PUBLIC_KEY_LENGTH || raw[0] !== 4) {
    throw encryptionError(
      `The public key is not an uncompressed P-256 point: expected ${RAW_PUBLIC_KEY_LENGTH} bytes starting with 0x04, got ${raw.length} bytes`,
    );
  }
  try {
    return await globalThis.crypto.subtle.importKey('raw', raw, ECDH_P256, true, []);
  } catch (error) {
    throw encryptionError('The public key is not a valid point of the P-256 curve', error);
  }
}

/**
 * A peer's public key as a `CryptoKey`, whether given as one or as base64. Rejects keys of another
 * algorithm or curve with an `ENCRYPTION_ERROR`.
 */
export async function toPublicKey(publicKey: CryptoKey | string): Promise<CryptoKey> {
  if (typeof publicKey === 'string') return importPublicKey(publicKey);
  if (!isEcdhKey(publicKey) || publicKey.type !== 'public') {
    throw encryptionError("The peer's key must be an ECDH P-256 public key (a CryptoKey or base64)");
  }
  return publicKey;
}

/** Throws unless `privateKey` is the private half of an ECDH P-256 key pair. */
export function assertPrivateKey(privateKey: unknown): asserts privateKey is CryptoKey {
  if (!isEcdhKey(privateKey) || privateKey.type !== 'private') {
    throw encryptionError('Expected the private key of an ECDH P-256 key pair');
  }
}

function isEcdhKey(key: unknown): key is CryptoKey {
  if (typeof key !== 'object' || key === null || !('algorithm' in key) || !('type' in key)) return false;
  const algorithm = (key as CryptoKey).algorithm as Partial<EcKeyAlgorithm>;
  return algorithm.name === 'ECDH' && algorithm.namedCurve === 'P-256';
}
