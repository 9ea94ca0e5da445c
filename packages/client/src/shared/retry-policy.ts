import type { BackoffOptions } from '@enclave-vm/stream';

/** The resolved reconnection policy: backoff plus how many consecutive failures to accept. */
export interface RetryPolicy extends Required<BackoffOptions> {
  /** Consecutive failed attempts after which the client gives up. */
  maxAttempts: number;
}
