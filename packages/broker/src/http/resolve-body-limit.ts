import { EnclaveError } from '@enclave-vm/types';

/** Largest accepted request body in bytes when `BrokerOptions.bodyLimit` is not set. @default 1048576 */
export const DEFAULT_BODY_LIMIT = 1_048_576;

/** `BrokerOptions.bodyLimit` or its default; throws `CONFIGURATION_ERROR` unless a positive integer. */
export function resolveBodyLimit(bodyLimit: number | undefined): number {
  if (bodyLimit === undefined) return DEFAULT_BODY_LIMIT;
  if (!Number.isSafeInteger(bodyLimit) || bodyLimit <= 0) {
    throw new EnclaveError(
      'CONFIGURATION_ERROR',
      `bodyLimit must be a positive integer, got ${String(bodyLimit)}`,
    );
  }
  return bodyLimit;
}
