import { EnclaveError } from '@enclave-vm/types';
import { encryptionError } from './encryption-error.js';
import { decodeUtf8, encodeUtf8 } from './utf8.js';

/**
 * UTF-8 JSON of a value about to be encrypted. Throws `BAD_REQUEST` (as transports do) for values
 * JSON cannot carry: `undefined`, functions, symbols, BigInt, cycles.
 */
export function toJsonBytes(value: unknown, what: string): Uint8Array<ArrayBuffer> {
  return encodeUtf8(toJsonText(value, what));
}

/** The JSON text of a value about to be encrypted; throws like {@link toJsonBytes}. */
export function toJsonText(value: unknown, what: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new EnclaveError(
      'BAD_REQUEST',
      `The ${what} cannot be serialized as JSON: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  if (text === undefined) {
    throw new EnclaveError(
      'BAD_REQUEST',
      `The ${what} cannot be serialized as JSON (it is ${typeof value})`,
      {
        cause: undefined,
      },
    );
  }
  return text;
}

/** The value of decrypted UTF-8 JSON; an `ENCRYPTION_ERROR` when the bytes are not JSON. */
export function fromJsonBytes(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(decodeUtf8(bytes));
  } catch (error) {
    throw encryptionError(`The decrypted ${what} is not UTF-8 JSON`, error);
  }
}
