import {
  type CipherGCMTypes,
  createCipheriv,
  createDecipheriv,
  KeyObject,
  randomFillSync,
} from 'node:crypto';
import type { SyncAesGcm } from './sync-aes-gcm.js';

/**
 * The Node build's synchronous AES-256-GCM (node:crypto), used in place of `sync-aes-gcm.ts`: the
 * same ciphertext and tag Web Crypto produces for the same key, IV and additional data, for a
 * fraction of the cost of a Web Crypto call (no promise, no thread hop), and with few allocations
 * (Node's pooled buffers and native base64).
 *
 * Keys stay Web Crypto `CryptoKey`s (derived with ECDH and HKDF by `crypto.subtle`). Their bytes
 * are read once, through `KeyObject.from`, and kept beside the key: a cipher made from raw key bytes
 * costs about half of one made from a `KeyObject`. They never leave the process, like the key.
 */

const TAG_LENGTH = 16;
const IV_LENGTH = 12;
/** IVs drawn per call to the random source. */
const IVS_PER_REFILL = 1024;

interface RawKey {
  readonly algorithm: CipherGCMTypes;
  readonly bytes: Buffer;
}

const rawKeys = new WeakMap<CryptoKey, RawKey>();

function rawKeyOf(key: CryptoKey, usage: 'encrypt' | 'decrypt'): RawKey {
  let raw = rawKeys.get(key);
  if (raw !== undefined && key.usages.includes(usage)) return raw;
  if (
    typeof key !== 'object' ||
    key === null ||
    (key.algorithm as { name?: unknown } | undefined)?.name !== 'AES-GCM' ||
    !key.usages.includes(usage)
  ) {
    throw new TypeError(`The key must be an AES-GCM key allowed to ${usage}`);
  }
  const bytes = KeyObject.from(key).export();
  const algorithm = bytes.length === 16 ? 'aes-128-gcm' : bytes.length === 24 ? 'aes-192-gcm' : 'aes-256-gcm';
  raw = { algorithm, bytes };
  rawKeys.set(key, raw);
  return raw;
}

// Random IVs come from one buffer filled in batches; each IV is a view of its own bytes, handed out once.
let ivPool = Buffer.alloc(0);
let ivOffset = 0;

function freshIv(): Buffer {
  if (ivOffset + IV_LENGTH > ivPool.length) {
    ivPool = randomFillSync(Buffer.allocUnsafeSlow(IV_LENGTH * IVS_PER_REFILL));
    ivOffset = 0;
  }
  const iv = ivPool.subarray(ivOffset, ivOffset + IV_LENGTH);
  ivOffset += IV_LENGTH;
  return iv;
}

/**
 * A base64 field decoded, or `undefined` when it is not standard base64 (the browser build refuses
 * the same texts). Node's decoder skips characters outside the alphabet, so a text holding any
 * decodes to fewer bytes than its length promises; it also reads the URL alphabet, refused here.
 */
function decode(text: string): Buffer | undefined {
  const length = text.length;
  if (length % 4 !== 0 || text.includes('-') || text.includes('_')) return undefined;
  const padding =
    length === 0 ? 0 : text.charCodeAt(length - 1) !== 61 ? 0 : text.charCodeAt(length - 2) === 61 ? 2 : 1;
  const bytes = Buffer.from(text, 'base64');
  return bytes.length === (length / 4) * 3 - padding ? bytes : undefined;
}

export const syncAesGcm: SyncAesGcm | undefined = {
  seal(key, plaintext, additionalData) {
    const raw = rawKeyOf(key, 'encrypt');
    const iv = freshIv();
    // The tag is GCM's full 16 bytes by default.
    const cipher = createCipheriv(raw.algorithm, raw.bytes, iv);
    if (additionalData !== undefined) cipher.setAAD(additionalData);
    const body = typeof plaintext === 'string' ? cipher.update(plaintext, 'utf8') : cipher.update(plaintext);
    const last = cipher.final();
    const tag = cipher.getAuthTag();
    const sealed = Buffer.allocUnsafe(body.length + last.length + TAG_LENGTH);
    body.copy(sealed, 0);
    last.copy(sealed, body.length);
    tag.copy(sealed, body.length + last.length);
    return { iv: iv.toString('base64'), ciphertext: sealed.toString('base64') };
  },
  open(key, payload, additionalData) {
    const raw = rawKeyOf(key, 'decrypt');
    const iv = decode(payload.iv);
    const sealed = decode(payload.ciphertext);
    if (iv === undefined || sealed === undefined || iv.length !== IV_LENGTH || sealed.length < TAG_LENGTH) {
      return undefined;
    }
    const decipher = createDecipheriv(raw.algorithm, raw.bytes, iv);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_LENGTH));
    if (additionalData !== undefined) decipher.setAAD(additionalData);
    const body = decipher.update(sealed.subarray(0, sealed.length - TAG_LENGTH));
    let last: Buffer;
    try {
      last = decipher.final();
    } catch {
      return undefined;
    }
    return last.length === 0 ? body : Buffer.concat([body, last]);
  },
};
