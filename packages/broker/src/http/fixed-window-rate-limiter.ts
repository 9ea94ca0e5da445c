import { EnclaveError } from '@enclave-vm/types';

/** The outcome of counting one request against its key's window. */
export interface RateLimitDecision {
  /** Whether the request fits in the window. */
  allowed: boolean;
  /** Requests allowed per window. */
  limit: number;
  /** Requests left in the current window after this one. */
  remaining: number;
  /** Ms until the key's window ends and its count starts again from zero. */
  resetInMs: number;
}

/** Window length and budget of a {@link FixedWindowRateLimiter}. */
export interface FixedWindowRateLimiterOptions {
  /** Length of one window in ms. */
  windowMs: number;
  /** Requests allowed per key and window. */
  maxRequests: number;
  /** Clock, replaceable in tests. @default Date.now */
  now?: () => number;
}

interface Window {
  count: number;
  endsAt: number;
}

/**
 * Counts requests per key in fixed windows: a key's window opens with its first request and lasts
 * `windowMs`; the next request after it opens a new one. Expired windows are swept at most once per
 * `windowMs`, during a request, so memory holds only keys seen within about the last two windows.
 */
export class FixedWindowRateLimiter {
  private readonly windowMs: number;
  private readonly maxRequests: number;
  private readonly now: () => number;
  private readonly windows = new Map<string, Window>();
  private nextSweepAt = 0;

  /** Throws `CONFIGURATION_ERROR` unless `windowMs` and `maxRequests` are positive integers. */
  constructor(options: FixedWindowRateLimiterOptions) {
    if (!Number.isSafeInteger(options.windowMs) || options.windowMs <= 0) {
      throw new EnclaveError(
        'CONFIGURATION_ERROR',
        `rateLimiting.windowMs must be a positive integer, got ${String(options.windowMs)}`,
      );
    }
    if (!Number.isSafeInteger(options.maxRequests) || options.maxRequests <= 0) {
      throw new EnclaveError(
        'CONFIGURATION_ERROR',
        `rateLimiting.maxRequests must be a positive integer, got ${String(options.maxRequests)}`,
      );
    }
    this.windowMs = options.windowMs;
    this.maxRequests = options.maxRequests;
    this.now = options.now ?? Date.now;
  }

  /** Keys whose window is still open (expired ones are dropped first). */
  get trackedKeys(): number {
    this.sweep(this.now(), true);
    return this.windows.size;
  }

  /** Counts one request for `key` and says whether it is allowed. */
  consume(key: string): RateLimitDecision {
    const now = this.now();
    this.sweep(now, false);
    let window = this.windows.get(key);
    if (window === undefined || window.endsAt <= now) {
      window = { count: 0, endsAt: now + this.windowMs };
      this.windows.set(key, window);
    }
    // Refused requests are not counted, so the count never passes the budget.
    const allowed = window.count < this.maxRequests;
    if (allowed) window.count++;
    return {
      allowed,
      limit: this.maxRequests,
      remaining: this.maxRequests - window.count,
      resetInMs: window.endsAt - now,
    };
  }

  private sweep(now: number, force: boolean): void {
    if (!force && now < this.nextSweepAt) return;
    this.nextSweepAt = now + this.windowMs;
    for (const [key, window] of this.windows) {
      if (window.endsAt <= now) this.windows.delete(key);
    }
  }
}
