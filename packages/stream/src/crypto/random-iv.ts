/** Bytes of the random AES-GCM nonce of every message (the size GCM is designed for). */
export const IV_LENGTH = 12;

/** IVs drawn per call to the random source: one call costs about as much as a whole AES-GCM message. */
const IVS_PER_REFILL = 256;

let pool = new Uint8Array(0);
let offset = 0;

/**
 * A fresh random 12-byte IV. Bytes come from `crypto.getRandomValues` in batches and each byte is
 * handed out once, so IVs are exactly as random as single calls, at a fraction of the cost.
 */
export function randomIv(): Uint8Array<ArrayBuffer> {
  if (offset + IV_LENGTH > pool.length) {
    pool = globalThis.crypto.getRandomValues(new Uint8Array(IV_LENGTH * IVS_PER_REFILL));
    offset = 0;
  }
  const iv = pool.slice(offset, offset + IV_LENGTH);
  offset += IV_LENGTH;
  return iv;
}
