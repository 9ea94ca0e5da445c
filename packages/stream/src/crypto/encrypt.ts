import type { EnclaveError } from '@enclave-vm/types';
import { decodeBase64, encodeBase64 } from './base64.js';
import { encryptionError } from './encryption-error.js';
import { IV_LENGTH, randomIv } from './random-iv.js';
import { type SyncAesGcm, syncAesGcm } from './sync-aes-gcm.js';
import { decodeUtf8, encodeUtf8 } from './utf8.js';

/** Bytes of the GCM authentication tag at the end of every ciphertext. */
const TAG_LENGTH = 16;

/** An AES-256-GCM message as it travels in JSON. */
export interface EncryptedPayload {
  /** The 12-byte random nonce, base64. */
  iv: string;
  /** The ciphertext followed by its 16-byte authentication tag, base64. */
  ciphertext: string;
}

/** What a caller may pass as plaintext or additional data: bytes, or a string taken as UTF-8. */
export type BytesOrText = Uint8Array | string;

const DEFAULT_FAILURE =
  'Decryption failed: the message was not encrypted with this key and additional data, or it was changed in transit';

/**
 * Encrypts with AES-256-GCM under a fresh random 12-byte IV. `additionalData` is authenticated but
 * not encrypted: decryption fails unless the same additional data is given again.
 *
 * @param key An AES-GCM key, e.g. from {@link deriveSharedSecret}.
 * @param plaintext A string (encoded as UTF-8) or bytes.
 * @param additionalData Bytes or a UTF-8 string bound to the message. @default none
 * @example
 * const encrypted = await encrypt(secret, JSON.stringify(message));
 * // { iv: 'base64…', ciphertext: 'base64…' }
 */
export async function encrypt(
  key: CryptoKey,
  plaintext: BytesOrText,
  additionalData?: BytesOrText,
): Promise<EncryptedPayload> {
  return encryptBytes(key, toBytes(plaintext, 'plaintext'), toOptionalBytes(additionalData));
}

/**
 * Decrypts a message of {@link encrypt} to a string (UTF-8). Throws an `ENCRYPTION_ERROR` when the
 * key or additional data differ from the sender's, when any byte of `iv` or `ciphertext` changed,
 * or when the plaintext is not valid UTF-8 (use {@link decryptBytes} for binary messages).
 *
 * @example
 * const text = await decrypt(secret, encrypted);
 */
export async function decrypt(
  key: CryptoKey,
  encrypted: EncryptedPayload,
  additionalData?: BytesOrText,
): Promise<string> {
  return bytesToText(await decryptBytes(key, encrypted, additionalData));
}

/**
 * Decrypts a message of {@link encrypt} to bytes. Same failures as {@link decrypt}, without the
 * UTF-8 check.
 */
export async function decryptBytes(
  key: CryptoKey,
  encrypted: EncryptedPayload,
  additionalData?: BytesOrText,
): Promise<Uint8Array> {
  return openBytes(key, encrypted, toOptionalBytes(additionalData), DEFAULT_FAILURE);
}

/** Encrypts bytes under a fresh random IV with the given additional data. */
export async function encryptBytes(
  key: CryptoKey,
  plaintext: Uint8Array<ArrayBuffer>,
  additionalData: Uint8Array<ArrayBuffer> | undefined,
): Promise<EncryptedPayload> {
  if (syncAesGcm !== undefined) return sealBytesNow(key, plaintext, additionalData);
  const iv = randomIv();
  let ciphertext: ArrayBuffer;
  try {
    ciphertext = await globalThis.crypto.subtle.encrypt(gcmParameters(iv, additionalData), key, plaintext);
  } catch (error) {
    throw encryptionError('Encryption failed: the key must be an AES-GCM key allowed to encrypt', error);
  }
  return { iv: encodeBase64(iv), ciphertext: encodeBase64(new Uint8Array(ciphertext)) };
}

/**
 * Whether AES-GCM runs synchronously here (node:crypto in the Node build), so that callers can seal
 * and open without waiting (see {@link sealBytesNow} and {@link openPayloadNow}).
 */
export const hasSyncAesGcm: boolean = syncAesGcm !== undefined;

/**
 * Encrypts text (as UTF-8) or bytes under a fresh random IV, synchronously: only where
 * {@link hasSyncAesGcm}. Same result and failures as {@link encryptBytes}.
 */
export function sealBytesNow(
  key: CryptoKey,
  plaintext: string | Uint8Array,
  additionalData: Uint8Array | undefined,
): EncryptedPayload {
  try {
    return (syncAesGcm as SyncAesGcm).seal(key, plaintext, additionalData);
  } catch (error) {
    throw encryptionError('Encryption failed: the key must be an AES-GCM key allowed to encrypt', error);
  }
}

/**
 * Decrypts a payload synchronously (only where {@link hasSyncAesGcm}): `undefined` when
 * authentication fails; the same `ENCRYPTION_ERROR`s as {@link openBytes} for a malformed payload
 * or a key that cannot decrypt.
 */
export function openPayloadNow(
  key: CryptoKey,
  encrypted: EncryptedPayload,
  additionalData: Uint8Array | undefined,
): Uint8Array | undefined {
  if (
    typeof encrypted !== 'object' ||
    encrypted === null ||
    typeof encrypted.iv !== 'string' ||
    typeof encrypted.ciphertext !== 'string'
  ) {
    decodePayload(encrypted);
  }
  let plaintext: Uint8Array | undefined;
  try {
    plaintext = (syncAesGcm as SyncAesGcm).open(key, encrypted, additionalData);
  } catch (error) {
    throw encryptionError('Decryption failed: the key must be an AES-GCM key allowed to decrypt', error);
  }
  // A malformed payload gets the error that says what is wrong with it; a well-formed one failed authentication.
  if (plaintext === undefined) decodePayload(encrypted);
  return plaintext;
}

/**
 * Checks the shape of an encrypted payload, then decrypts it. `failureMessage` is the error message
 * when authentication fails, so each caller can say what was being opened.
 */
export async function openBytes(
  key: CryptoKey,
  encrypted: EncryptedPayload,
  additionalData: Uint8Array<ArrayBuffer> | undefined,
  failureMessage: string,
): Promise<Uint8Array> {
  if (syncAesGcm !== undefined) {
    const opened = openPayloadNow(key, encrypted, additionalData);
    if (opened === undefined) throw encryptionError(failureMessage);
    return opened;
  }
  const { iv, ciphertext } = decodePayload(encrypted);
  let plaintext: ArrayBuffer;
  try {
    plaintext = await globalThis.crypto.subtle.decrypt(gcmParameters(iv, additionalData), key, ciphertext);
  } catch (error) {
    throw decryptionError(error, failureMessage);
  }
  return new Uint8Array(plaintext);
}

/** The IV and ciphertext bytes of an encrypted payload, after checking its shape and sizes. */
export interface DecodedPayload {
  iv: Uint8Array<ArrayBuffer>;
  ciphertext: Uint8Array<ArrayBuffer>;
}

/**
 * Checks the shape of an encrypted payload and decodes it: an `ENCRYPTION_ERROR` when it is not
 * `{ iv, ciphertext }` of base64, the IV is not 12 bytes or the ciphertext is shorter than its tag.
 */
export function decodePayload(encrypted: EncryptedPayload): DecodedPayload {
  if (typeof encrypted !== 'object' || encrypted === null) {
    throw encryptionError('An encrypted message must be an object { iv, ciphertext }');
  }
  if (typeof encrypted.iv !== 'string' || typeof encrypted.ciphertext !== 'string') {
    throw encryptionError('An encrypted message needs base64 strings `iv` and `ciphertext`');
  }
  const iv = decodeBase64(encrypted.iv, 'The IV');
  if (iv.length !== IV_LENGTH) {
    throw encryptionError(`The IV must be ${IV_LENGTH} bytes, got ${iv.length}`);
  }
  const ciphertext = decodeBase64(encrypted.ciphertext, 'The ciphertext');
  if (ciphertext.length < TAG_LENGTH) {
    throw encryptionError(
      `The ciphertext is ${ciphertext.length} bytes, shorter than its ${TAG_LENGTH}-byte authentication tag`,
    );
  }
  return { iv, ciphertext };
}

/**
 * Starts the AES-GCM decryption of a decoded payload. Web Crypto's failure is left as it is: turn
 * it into an `ENCRYPTION_ERROR` with {@link decryptionError}.
 */
export function startDecryption(
  key: CryptoKey,
  payload: DecodedPayload,
  additionalData: Uint8Array<ArrayBuffer> | undefined,
): Promise<ArrayBuffer> {
  return globalThis.crypto.subtle.decrypt(gcmParameters(payload.iv, additionalData), key, payload.ciphertext);
}

/**
 * The `ENCRYPTION_ERROR` for a Web Crypto decryption failure: `failureMessage` when authentication
 * failed (an `OperationError`), otherwise a message about the key.
 */
export function decryptionError(error: unknown, failureMessage: string): EnclaveError {
  // OperationError is the authentication failure; anything else is a key that cannot decrypt.
  const isAuthenticationFailure = error instanceof Error && error.name === 'OperationError';
  return encryptionError(
    isAuthenticationFailure
      ? failureMessage
      : 'Decryption failed: the key must be an AES-GCM key allowed to decrypt',
    error,
  );
}

/** UTF-8 text of decrypted bytes, as an `ENCRYPTION_ERROR` when they are not valid UTF-8. */
export function bytesToText(bytes: Uint8Array): string {
  try {
    return decodeUtf8(bytes);
  } catch (error) {
    throw encryptionError('The decrypted message is not valid UTF-8 text', error);
  }
}

function gcmParameters(
  iv: Uint8Array<ArrayBuffer>,
  additionalData: Uint8Array<ArrayBuffer> | undefined,
): AesGcmParams {
  // The tag length is left at its default, 128 bits (TAG_LENGTH): passing it costs a conversion.
  return additionalData === undefined ? { name: 'AES-GCM', iv } : { name: 'AES-GCM', iv, additionalData };
}

function toBytes(value: BytesOrText, what: string): Uint8Array<ArrayBuffer> {
  if (typeof value === 'string') return encodeUtf8(value);
  if (value instanceof Uint8Array) {
    // Web Crypto needs an ArrayBuffer-backed view; copy only the rare SharedArrayBuffer one.
    return value.buffer instanceof ArrayBuffer ? (value as Uint8Array<ArrayBuffer>) : new Uint8Array(value);
  }
  throw encryptionError(`The ${what} must be a string or a Uint8Array`);
}

function toOptionalBytes(value: BytesOrText | undefined): Uint8Array<ArrayBuffer> | undefined {
  return value === undefined ? undefined : toBytes(value, 'additional data');
}
