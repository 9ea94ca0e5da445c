import { EnclaveError } from '@enclave-vm/types';

/**
 * An `ENCRYPTION_ERROR` with a message that says what was refused and why. `cause` is always set,
 * to the Web Crypto error when there is one (never thrown to users on its own).
 */
export function encryptionError(message: string, cause?: unknown, details?: unknown): EnclaveError {
  return new EnclaveError('ENCRYPTION_ERROR', message, { cause, details });
}
