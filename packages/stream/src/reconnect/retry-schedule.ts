import { EnclaveError } from '@enclave-vm/types';
import { computeBackoffDelay } from './compute-backoff-delay.js';
import type { RetryPolicy } from './retry-policy.js';

/** What {@link RetrySchedule.fail} adds to the `RECONNECT_FAILED` error when it gives up. */
export interface GiveUpContext {
  /** What was lost, e.g. `the event stream of session ses_1`; starts the error's message. */
  what?: string;
  /** Details for the error (the session, the seq to resume from). */
  details?: Record<string, unknown>;
}

/**
 * Counts the consecutive failed attempts of one connection and says how long to wait before the
 * next: the one place where backoff is applied and where reconnecting gives up. A connection that
 * delivered something calls {@link reset}.
 *
 * @example
 * const schedule = new RetrySchedule(resolveRetryPolicy({ maxAttempts: 5 }));
 * const wait = schedule.fail(reason); // throws RECONNECT_FAILED after the 5th failure in a row
 */
export class RetrySchedule {
  private failures = 0;

  /**
   * @param policy a resolved policy (see `resolveRetryPolicy`).
   * @param random source of uniform numbers in [0, 1) for the jitter; injectable for tests.
   * @default random Math.random
   */
  constructor(
    readonly policy: Readonly<RetryPolicy>,
    private readonly random: () => number = Math.random,
  ) {}

  /** Failed attempts since the last success. */
  get failedAttempts(): number {
    return this.failures;
  }

  /** Records a success: the next failure waits `initialDelay` again. */
  reset(): void {
    this.failures = 0;
  }

  /**
   * Records a failed attempt and returns the ms to wait before the next one: the backoff delay, or
   * longer when `reason` carries a `retryAfterMs` detail (a 429's `Retry-After`), never more than
   * `maxDelay`. Throws `RECONNECT_FAILED` (with `reason` as cause) when the attempts are used up.
   */
  fail(reason: EnclaveError, context: GiveUpContext = {}): number {
    this.failures += 1;
    const { maxAttempts, maxDelay } = this.policy;
    if (this.failures > maxAttempts) {
      const tried = maxAttempts === 1 ? '1 attempt' : `${maxAttempts} attempts`;
      const lead = context.what === undefined ? 'Gave up reconnecting' : `Lost ${context.what} and gave up`;
      throw new EnclaveError('RECONNECT_FAILED', `${lead} after ${tried}: ${reason.message}`, {
        cause: reason,
        ...(context.details === undefined ? {} : { details: context.details }),
      });
    }
    const backoff = computeBackoffDelay(this.failures, this.policy, this.random);
    return Math.min(maxDelay, Math.max(retryAfterOf(reason), backoff));
  }
}

function retryAfterOf(error: EnclaveError): number {
  const details = error.details as { retryAfterMs?: unknown } | undefined;
  return typeof details?.retryAfterMs === 'number' ? details.retryAfterMs : 0;
}
