import { EnclaveError } from '@enclave-vm/types';

/** How long to wait before each reconnection attempt. */
export interface BackoffOptions {
  /**
   * Delay before the first attempt, in ms.
   * @default 1000
   */
  initialDelay: number;
  /**
   * Longest delay, in ms; no attempt waits longer.
   * @default 30000
   */
  maxDelay: number;
  /**
   * Factor by which the delay grows per attempt.
   * @default 2
   */
  backoffMultiplier: number;
  /**
   * Share of the delay that is random, from 0 (none) to 1 (anywhere between 0 and the full delay).
   * Spreads out clients that lost the same server at the same moment.
   * @default 0.5
   */
  jitter?: number;
}

/** Backoff defaults: 1 s, doubling, at most 30 s, half of it random. */
export const DEFAULT_BACKOFF_OPTIONS: Readonly<Required<BackoffOptions>> = Object.freeze({
  initialDelay: 1000,
  maxDelay: 30_000,
  backoffMultiplier: 2,
  jitter: 0.5,
});

/**
 * The delay before reconnection attempt `attempt` (1 for the first):
 * `base = min(maxDelay, initialDelay × backoffMultiplier^(attempt − 1))`, then
 * `delay = base × (1 − jitter + jitter × random())`, so the delay lies in `[base × (1 − jitter), base]`
 * and never exceeds `maxDelay`.
 *
 * @param random source of uniform numbers in [0, 1); injectable for deterministic tests.
 * @default random Math.random
 */
export function computeBackoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new EnclaveError('CONFIGURATION_ERROR', `attempt must be an integer ≥ 1, got ${String(attempt)}`);
  }
  const { initialDelay, maxDelay, backoffMultiplier } = options;
  const jitter = options.jitter ?? DEFAULT_BACKOFF_OPTIONS.jitter;
  assertOption(initialDelay >= 0, 'initialDelay must be ≥ 0', initialDelay);
  assertOption(maxDelay >= 0, 'maxDelay must be ≥ 0', maxDelay);
  assertOption(backoffMultiplier >= 1, 'backoffMultiplier must be ≥ 1', backoffMultiplier);
  assertOption(jitter >= 0 && jitter <= 1, 'jitter must be between 0 and 1', jitter);
  // A large attempt makes the growth Infinity; with initialDelay 0 that product would be NaN.
  const base = initialDelay === 0 ? 0 : Math.min(maxDelay, initialDelay * backoffMultiplier ** (attempt - 1));
  const factor = 1 - jitter + jitter * Math.min(Math.max(random(), 0), 1);
  return Math.min(maxDelay, base * factor);
}

function assertOption(valid: boolean, message: string, value: number): void {
  if (!valid || Number.isNaN(value)) {
    throw new EnclaveError('CONFIGURATION_ERROR', `${message}, got ${String(value)}`);
  }
}
