import { EnclaveError } from '@enclave-vm/types';

/**
 * The longest NDJSON line accepted by default: 16 MiB, counted in UTF-16 code units of the decoded
 * line without its line break (equal to bytes for ASCII text).
 */
export const DEFAULT_MAX_LINE_SIZE = 16 * 1024 * 1024;

/**
 * Returns `value`, or {@link DEFAULT_MAX_LINE_SIZE} when it is `undefined`. Throws an
 * `EnclaveError` (`CONFIGURATION_ERROR`) unless it is a positive safe integer.
 */
export function resolveMaxLineSize(value: number | undefined): number {
  if (value === undefined) return DEFAULT_MAX_LINE_SIZE;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new EnclaveError(
      'CONFIGURATION_ERROR',
      `maxLineSize must be a positive integer, got ${String(value)}`,
      {
        cause: undefined,
      },
    );
  }
  return value;
}
