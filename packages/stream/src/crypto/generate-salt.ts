import { EnclaveError } from '@enclave-vm/types';
import { encodeBase64 } from './base64.js';

/**
 * A random HKDF salt as base64, for `EncryptionParams.salt` of `session_init` and the `salt` option
 * of the key derivations.
 *
 * @param length Bytes of randomness, 16 to 64. @default 32
 * @example
 * const salt = generateSalt(); // e.g. 'q3Vb…=' (44 characters)
 */
export function generateSalt(length = 32): string {
  if (!Number.isInteger(length) || length < 16 || length > 64) {
    throw new EnclaveError('CONFIGURATION_ERROR', `A salt must be 16 to 64 bytes long, got ${length}`);
  }
  return encodeBase64(globalThis.crypto.getRandomValues(new Uint8Array(length)));
}
