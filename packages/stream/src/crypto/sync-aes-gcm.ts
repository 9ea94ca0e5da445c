/**
 * A synchronous AES-256-GCM, where the platform has one. This is the browser build's module: there
 * is none, and every operation goes through Web Crypto (`crypto.subtle`, asynchronous). The Node
 * build replaces this module with `sync-aes-gcm.node.ts` (node:crypto), which seals and opens the
 * same payloads with the same additional data, synchronously.
 */

/** An AES-GCM message as it travels: base64 of the 12-byte IV, base64 of the ciphertext and its tag. */
export interface SealedPayload {
  iv: string;
  ciphertext: string;
}

/** AES-256-GCM on keys made by Web Crypto, run synchronously, on payloads as they travel. */
export interface SyncAesGcm {
  /**
   * Seals text (as UTF-8) or bytes under a fresh random IV; throws a `TypeError` when the key
   * cannot encrypt with AES-GCM. `additionalData` is only read during the call.
   */
  seal(key: CryptoKey, plaintext: string | Uint8Array, additionalData: Uint8Array | undefined): SealedPayload;
  /**
   * The plaintext of a payload whose shape was checked (base64 fields, a 12-byte IV, a ciphertext
   * at least as long as its tag), or `undefined` when authentication fails (a changed byte, another
   * key or other additional data); throws a `TypeError` when the key cannot decrypt with AES-GCM.
   */
  open(
    key: CryptoKey,
    payload: SealedPayload,
    additionalData: Uint8Array | undefined,
  ): Uint8Array | undefined;
}

/** The platform's synchronous AES-GCM: none in browsers. */
export const syncAesGcm: SyncAesGcm | undefined = undefined;
