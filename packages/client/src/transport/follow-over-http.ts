import { computeBackoffDelay } from '@enclave-vm/stream';
import { EnclaveError } from '@enclave-vm/types';
import type { BrokerHttp } from '../http/broker-http.js';
import { delay } from '../shared/delay.js';
import type { BatchHandler } from './batch-handler.js';
import { readEventBody } from './read-event-body.js';

/** The MIME type of event streams. */
export const NDJSON_MIME_TYPE = 'application/x-ndjson';

/** Options of {@link followOverHttp}. */
export interface FollowOverHttpOptions {
  http: BrokerHttp;
  /** The session id, known from the `x-session-id` header or the first event. */
  sessionId: () => string | undefined;
  /** An event response already open (the answer of `POST /execute`), read before any resume. */
  initial?: { response: Response; filtered: boolean };
  /** The seq to resume from, read at each reconnection. */
  nextSeq: () => number;
  onBatch: BatchHandler;
  /** Stops following (the session ended or failed). */
  signal: AbortSignal;
  heartbeatTimeout: number;
  /** Lines read ahead while a batch is handled (see `readEventBody`). @default 0 */
  readAhead?: number;
}

/**
 * Follows a session's events over HTTP until `final`: reads the open response, and whenever a
 * connection breaks (a network error, the body ending early, a skipped seq, silence past the
 * heartbeat timeout) resumes with `GET /sessions/:id/events?fromSeq=N` after a backoff delay. Error
 * answers that are retryable (429, 503, …) are retried too, no sooner than their `Retry-After`;
 * others end it with the broker's error. Gives up with `RECONNECT_FAILED` after `maxAttempts`
 * consecutive attempts that delivered nothing new. Resolves after `final`, or when stopped.
 */
export async function followOverHttp(options: FollowOverHttpOptions): Promise<void> {
  const { http, signal } = options;
  let pending = options.initial;
  let failedAttempts = 0;
  for (;;) {
    if (signal.aborted) return;
    const startSeq = options.nextSeq();
    let opened = pending;
    pending = undefined;
    if (opened === undefined) {
      const sessionId = options.sessionId();
      if (sessionId === undefined) {
        throw new EnclaveError(
          'CONNECTION_CLOSED',
          'The event stream broke before the broker named the session; it cannot be resumed',
        );
      }
      const path = `/sessions/${encodeURIComponent(sessionId)}/events?fromSeq=${startSeq}`;
      try {
        const response = await http.send('GET', path, {
          signal,
          accept: NDJSON_MIME_TYPE,
          what: `Resuming session ${sessionId} from seq ${startSeq}`,
        });
        opened = { response, filtered: false };
      } catch (error) {
        if (signal.aborted) return;
        const failure = EnclaveError.isInstance(error)
          ? error
          : new EnclaveError('CONNECTION_CLOSED', 'Could not resume', { cause: error });
        if (!failure.retryable) throw failure;
        failedAttempts = await backOff(failedAttempts + 1, failure, retryAfterOf(failure), options);
        continue;
      }
    }
    const outcome = await readEventBody(opened.response, {
      filtered: opened.filtered,
      onBatch: options.onBatch,
      signal,
      heartbeatTimeout: options.heartbeatTimeout,
      readAhead: options.readAhead,
    });
    if (outcome.kind !== 'broken') return;
    if (options.nextSeq() > startSeq) failedAttempts = 0;
    failedAttempts = await backOff(failedAttempts + 1, outcome.reason, 0, options);
  }
}

/** Waits before attempt `attempt`, or throws `RECONNECT_FAILED` when the attempts are used up. */
async function backOff(
  attempt: number,
  reason: EnclaveError,
  retryAfterMs: number,
  options: FollowOverHttpOptions,
): Promise<number> {
  const retry = options.http.retry;
  if (attempt > retry.maxAttempts) {
    const tried = retry.maxAttempts === 1 ? '1 attempt' : `${retry.maxAttempts} attempts`;
    throw new EnclaveError(
      'RECONNECT_FAILED',
      `Lost the event stream of session ${options.sessionId() ?? '(unknown)'} and gave up after ${tried}: ${reason.message}`,
      { cause: reason, details: { sessionId: options.sessionId(), nextSeq: options.nextSeq() } },
    );
  }
  const wait = Math.min(retry.maxDelay, Math.max(retryAfterMs, computeBackoffDelay(attempt, retry)));
  await delay(wait, options.signal);
  return attempt;
}

function retryAfterOf(error: EnclaveError): number {
  const details = error.details as { retryAfterMs?: unknown } | undefined;
  return typeof details?.retryAfterMs === 'number' ? details.retryAfterMs : 0;
}
