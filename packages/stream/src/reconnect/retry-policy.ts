import { EnclaveError } from '@enclave-vm/types';
import {
  type BackoffOptions,
  computeBackoffDelay,
  DEFAULT_BACKOFF_OPTIONS,
} from './compute-backoff-delay.js';

/** When and how often a broken connection is opened again: backoff plus when to give up. */
export interface RetryPolicy extends Required<BackoffOptions> {
  /**
   * Consecutive failed attempts (connections that delivered nothing new) after which the reader
   * gives up with `RECONNECT_FAILED`. `0` never reconnects; `Infinity` never gives up.
   * @default 10
   */
  maxAttempts: number;
}

/**
 * The retry defaults of every reconnecting part of EnclaveJS (`ReconnectingStream`, the client's
 * event sources): at most 10 consecutive failed attempts, 1 s doubling up to 30 s, half of it random.
 */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 10,
  ...DEFAULT_BACKOFF_OPTIONS,
});

/**
 * Ms without a message after which a connection counts as dead and is replaced. The broker sends a
 * heartbeat every 15 s while a session runs; this is four times that.
 */
export const DEFAULT_HEARTBEAT_TIMEOUT = 60_000;

/**
 * Fills a partial policy from `defaults` and validates it; throws `CONFIGURATION_ERROR` naming the
 * option (with `prefix`, e.g. `reconnect.`) when one is out of range.
 *
 * @default defaults DEFAULT_RETRY_POLICY
 * @default prefix 'reconnect.'
 */
export function resolveRetryPolicy(
  options: Partial<RetryPolicy> | undefined,
  defaults: Readonly<RetryPolicy> = DEFAULT_RETRY_POLICY,
  prefix = 'reconnect.',
): RetryPolicy {
  const policy: RetryPolicy = {
    maxAttempts: options?.maxAttempts ?? defaults.maxAttempts,
    initialDelay: options?.initialDelay ?? defaults.initialDelay,
    maxDelay: options?.maxDelay ?? defaults.maxDelay,
    backoffMultiplier: options?.backoffMultiplier ?? defaults.backoffMultiplier,
    jitter: options?.jitter ?? defaults.jitter,
  };
  const maxAttempts = policy.maxAttempts;
  if (!(maxAttempts >= 0) || (Number.isFinite(maxAttempts) && !Number.isInteger(maxAttempts))) {
    throw new EnclaveError(
      'CONFIGURATION_ERROR',
      `${prefix}maxAttempts must be an integer ≥ 0 or Infinity, got ${String(maxAttempts)}`,
    );
  }
  try {
    // Computing one delay validates the backoff options now rather than at the first drop.
    computeBackoffDelay(1, policy);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new EnclaveError('CONFIGURATION_ERROR', `${prefix}${message}`, { cause: error });
  }
  return policy;
}
