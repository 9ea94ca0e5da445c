import { type ErrorCode, getErrorCodeInfo, isErrorCode } from './error-codes.js';
import type { WireError } from './wire-error.js';

const brand = Symbol.for('@enclave-vm/types/EnclaveError');

/** Options of {@link EnclaveError}. */
export interface EnclaveErrorOptions {
  /** The error this one wraps; always set (to `undefined` explicitly when there is none). */
  cause?: unknown;
  /** Structured detail carried to the wire (e.g. validation issues). */
  details?: unknown;
}

/**
 * The one error class of EnclaveJS. Its `code` comes from {@link ERROR_CODES}, which also gives its
 * HTTP status and whether a retry can help. Checks work across duplicate installs through
 * {@link EnclaveError.isInstance}.
 *
 * @example
 * throw new EnclaveError('SESSION_NOT_FOUND', `No session ${id}`);
 */
export class EnclaveError extends Error {
  /** Stable string code from the error-code table (or a newer peer's code). */
  readonly code: ErrorCode | (string & {});
  /** Structured detail, sent on the wire with the error. */
  readonly details: unknown;
  readonly [brand] = true;

  constructor(code: ErrorCode | (string & {}), message: string, options: EnclaveErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'EnclaveError';
    this.code = code;
    this.details = options.details;
  }

  /** HTTP status of this code (500 for codes this version does not know). */
  get httpStatus(): number {
    return getErrorCodeInfo(this.code).httpStatus;
  }

  /** Whether repeating the operation may succeed. */
  get retryable(): boolean {
    return getErrorCodeInfo(this.code).retryable;
  }

  /** True for an EnclaveError from any copy of this package. */
  static isInstance(value: unknown): value is EnclaveError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }

  /** Rebuilds an error received on the wire. */
  static fromWire(error: WireError): EnclaveError {
    return new EnclaveError(error.code, error.message, { details: error.details });
  }

  /** The wire form: `{ code, message, details? }`. */
  toWire(): WireError {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  /** JSON form, so that `JSON.stringify(error)` carries the code. */
  toJSON(): WireError {
    return this.toWire();
  }
}

/**
 * Turns any thrown value into an {@link EnclaveError}. An EnclaveError passes through; anything else
 * is wrapped with `fallbackCode` and kept as `cause`.
 */
export function toEnclaveError(value: unknown, fallbackCode: ErrorCode = 'INTERNAL_ERROR'): EnclaveError {
  if (EnclaveError.isInstance(value)) return value;
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return new EnclaveError(isErrorCode(code) ? code : fallbackCode, value.message, { cause: value });
  }
  return new EnclaveError(fallbackCode, typeof value === 'string' ? value : 'Unknown error', {
    cause: value,
  });
}
