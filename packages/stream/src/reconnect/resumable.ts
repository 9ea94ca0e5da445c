import { EnclaveError, toEnclaveError } from '@enclave-vm/types';
import { abortableDelay } from './abortable-delay.js';
import { ConnectionLost } from './connection-lost.js';
import { DEFAULT_HEARTBEAT_TIMEOUT, type RetryPolicy, resolveRetryPolicy } from './retry-policy.js';
import { RetrySchedule } from './retry-schedule.js';
import { type SequencedMessage, SequenceTracker } from './sequence-tracker.js';

/**
 * What one connection delivers: batches of events in the order received (one batch per network
 * read or per group of messages that arrived together). An empty batch says the connection is
 * alive without a complete event. Set `skipsSeqs` on a stream the server filters, where seqs are
 * skipped on purpose and a skipped seq is no gap.
 */
export type ResumableBatches<TEvent> = AsyncIterable<readonly TEvent[]> & { readonly skipsSeqs?: boolean };

/**
 * Opens one connection that delivers the events from `fromSeq` on. `signal` aborts when the reader
 * is done with the connection (stopped, timed out, or the consumer left); the source then closes it.
 * Throw (or end the iteration) when the connection breaks: an error whose code is retryable, or a
 * {@link ConnectionLost}, makes the reader open a new connection; any other error ends the reader.
 */
export type ResumableOpen<TEvent> = (
  fromSeq: number,
  signal: AbortSignal,
) => ResumableBatches<TEvent> | Promise<ResumableBatches<TEvent>>;

/** Options of {@link resumable}. */
export interface ResumableOptions<TEvent> {
  /**
   * First seq wanted; events before it are neither requested nor delivered.
   * @default 1
   */
  fromSeq?: number;
  /** Backoff and give-up policy; each field defaults to `DEFAULT_RETRY_POLICY`'s. */
  retry?: Partial<RetryPolicy>;
  /**
   * Ms without a batch (and while a connection is being opened) after which the connection counts
   * as dead (`HEARTBEAT_TIMEOUT`) and is replaced. Time the consumer spends on a batch does not
   * count. `0` turns the check off.
   * @default DEFAULT_HEARTBEAT_TIMEOUT (60000)
   */
  heartbeatTimeout?: number;
  /** Stops the reader: the iteration ends without an error. */
  signal?: AbortSignal;
  /**
   * Whether an event ends the stream; the reader stops after delivering it.
   * @default event.type === 'final'
   */
  isFinal?: (event: TEvent) => boolean;
  /** A connection broke and attempt `attempt` (from 1) will start after `delayMs`. */
  onDisconnect?: (reason: EnclaveError, attempt: number, delayMs: number) => void;
  /** Attempt `attempt` (from 1) starts now, after `reason` ended the previous connection. */
  onReconnect?: (attempt: number, reason: EnclaveError) => void;
  /** What the reader follows, for the `RECONNECT_FAILED` message, e.g. `the event stream of session ses_1`. */
  describe?: () => string;
  /** Details added to the `RECONNECT_FAILED` error. */
  details?: () => Record<string, unknown>;
}

/** How one connection ended: the stream is over, or it broke for a reason. */
type ConnectionEnd = { kind: 'over' } | { kind: 'broken'; reason: EnclaveError };

/** The wait before the next attempt, decided when a connection broke, or why the reader gives up. */
type PendingRetry =
  | { attempt: number; reason: EnclaveError; waited: Promise<boolean> }
  | { failure: EnclaveError };

/** Rejection of a wait cut short by the reader's signal. */
const STOPPED = Symbol('stopped');

/**
 * Reads one session's event stream across broken connections, the one implementation of resuming
 * in EnclaveJS: it opens a connection from the first seq it has not delivered, drops duplicates,
 * treats a gap or silence past the heartbeat timeout as a broken connection, backs off between
 * attempts and gives up with `RECONNECT_FAILED` after `maxAttempts` consecutive attempts that
 * delivered nothing new. Iterating yields batches of new events, each event exactly once and in
 * seq order; the iteration ends after the final event, when `signal` aborts, or when the consumer
 * stops (the open connection is then closed). Iterate it once.
 *
 * @example
 * const reader = resumable((fromSeq, signal) => openEvents(sessionId, fromSeq, signal), {
 *   retry: { maxAttempts: 5 },
 * });
 * for await (const batch of reader) for (const event of batch) console.log(event.seq, event.type);
 */
export function resumable<TEvent extends SequencedMessage>(
  open: ResumableOpen<TEvent>,
  options: ResumableOptions<TEvent> = {},
): ResumableReader<TEvent> {
  return new ResumableReader(open, options);
}

/** The reader {@link resumable} returns: the batches, and where the stream is. */
export class ResumableReader<TEvent extends SequencedMessage> implements AsyncIterable<readonly TEvent[]> {
  private readonly tracker: SequenceTracker;
  private readonly schedule: RetrySchedule;
  private readonly heartbeatTimeout: number;
  private readonly isFinal: (event: TEvent) => boolean;
  private iterated = false;
  private pendingRetry: PendingRetry | undefined;

  /** Validates the options; throws `CONFIGURATION_ERROR` for one out of range. */
  constructor(
    private readonly open: ResumableOpen<TEvent>,
    private readonly options: ResumableOptions<TEvent> = {},
  ) {
    this.schedule = new RetrySchedule(resolveRetryPolicy(options.retry));
    this.heartbeatTimeout = options.heartbeatTimeout ?? DEFAULT_HEARTBEAT_TIMEOUT;
    if (!(this.heartbeatTimeout >= 0)) {
      throw new EnclaveError(
        'CONFIGURATION_ERROR',
        `heartbeatTimeout must be ≥ 0, got ${this.heartbeatTimeout}`,
      );
    }
    const fromSeq = options.fromSeq ?? 1;
    if (!Number.isSafeInteger(fromSeq) || fromSeq < 1) {
      throw new EnclaveError('CONFIGURATION_ERROR', `fromSeq must be an integer ≥ 1, got ${String(fromSeq)}`);
    }
    this.tracker = new SequenceTracker(fromSeq - 1);
    this.isFinal = options.isFinal ?? ((event) => event.type === 'final');
  }

  /** The last seq delivered (`fromSeq − 1` before the first). */
  get lastSeq(): number {
    return this.tracker.lastSeq;
  }

  /** The seq a new connection starts from. */
  get nextSeq(): number {
    return this.tracker.nextSeq;
  }

  [Symbol.asyncIterator](): AsyncIterator<readonly TEvent[]> {
    if (this.iterated) throw new EnclaveError('INTERNAL_ERROR', 'A resumable reader is iterated once');
    this.iterated = true;
    return this.run();
  }

  private stopped(): boolean {
    return this.options.signal?.aborted === true;
  }

  private async *run(): AsyncGenerator<readonly TEvent[], void, undefined> {
    for (;;) {
      if (this.stopped()) return;
      this.pendingRetry = undefined;
      const end = yield* this.follow();
      if (end.kind === 'over' || this.stopped()) return;
      const retry = this.scheduleRetry(end.reason);
      if ('failure' in retry) throw retry.failure;
      if (!(await retry.waited)) return;
      this.options.onReconnect?.(retry.attempt, retry.reason);
    }
  }

  /**
   * Decides, once per broken connection, how long to wait before the next attempt (or to give up),
   * and starts the wait. Called at once from the heartbeat timer, so that the reader's state changes
   * when the timer fires rather than a few turns later.
   */
  private scheduleRetry(reason: EnclaveError): PendingRetry {
    if (this.pendingRetry !== undefined) return this.pendingRetry;
    try {
      const wait = this.schedule.fail(reason, {
        what: this.options.describe?.(),
        details: { ...this.options.details?.(), nextSeq: this.tracker.nextSeq },
      });
      const attempt = this.schedule.failedAttempts;
      this.options.onDisconnect?.(reason, attempt, wait);
      this.pendingRetry = { attempt, reason, waited: abortableDelay(wait, this.options.signal) };
    } catch (error) {
      this.pendingRetry = { failure: toEnclaveError(error) };
    }
    return this.pendingRetry;
  }

  /** Follows one connection until it ends; yields its new events. */
  private async *follow(): AsyncGenerator<readonly TEvent[], ConnectionEnd, undefined> {
    const connection = new AbortController();
    const stop = this.options.signal;
    const onStop = (): void => connection.abort(stop?.reason);
    stop?.addEventListener('abort', onStop, { once: true });
    let iterator: AsyncIterator<readonly TEvent[]> | undefined;
    try {
      const batches = await this.guard(() => this.open(this.tracker.nextSeq, connection.signal), connection);
      const skipsSeqs = batches.skipsSeqs === true;
      const source = batches[Symbol.asyncIterator]();
      iterator = source;
      for (;;) {
        const next = await this.guard(() => source.next(), connection);
        if (next.done === true) {
          return broken(new EnclaveError('CONNECTION_CLOSED', 'The event stream ended before final'));
        }
        const taken = this.take(next.value, skipsSeqs);
        if (taken.events.length > 0) {
          this.schedule.reset();
          yield taken.events;
        }
        if (taken.end !== undefined) return taken.end;
      }
    } catch (error) {
      if (error === STOPPED || this.stopped()) return { kind: 'over' };
      if (error instanceof ConnectionLost) return broken(error.reason);
      const failure = toEnclaveError(error, 'CONNECTION_CLOSED');
      if (failure.code === 'HEARTBEAT_TIMEOUT' || failure.retryable) return broken(failure);
      throw failure;
    } finally {
      stop?.removeEventListener('abort', onStop);
      connection.abort();
      // The old connection is not waited for: a dead peer can hold a closing handshake for long.
      if (iterator?.return !== undefined) {
        const source = iterator;
        Promise.resolve()
          .then(() => source.return?.())
          .catch(() => undefined);
      }
    }
  }

  /** The new events of a batch in order, and how the connection ends when the batch ends it. */
  private take(batch: readonly TEvent[], skipsSeqs: boolean): { events: TEvent[]; end?: ConnectionEnd } {
    const events: TEvent[] = [];
    for (const event of batch) {
      if (typeof event !== 'object' || event === null) {
        return { events, end: broken(protocolError('Received a frame that is not an object')) };
      }
      const seq = (event as { seq?: unknown }).seq;
      if (
        typeof seq !== 'number' ||
        !Number.isSafeInteger(seq) ||
        seq < 1 ||
        typeof (event as { type?: unknown }).type !== 'string'
      ) {
        return {
          events,
          end: broken(protocolError('Received a frame without a positive integer seq and a type')),
        };
      }
      const position = this.tracker.check(seq);
      if (position === 'duplicate') continue;
      if (position === 'gap' && !skipsSeqs) {
        return {
          events,
          end: broken(
            protocolError(`Expected seq ${this.tracker.nextSeq}, received ${seq}; resuming from it`),
          ),
        };
      }
      this.tracker.skipTo(seq);
      events.push(event);
      if (this.isFinal(event)) return { events, end: { kind: 'over' } };
    }
    return { events };
  }

  /**
   * Waits for `start()`, failing with `HEARTBEAT_TIMEOUT` (and aborting the connection) when it
   * takes longer than the heartbeat timeout, and with {@link STOPPED} when the reader stops.
   */
  private guard<TValue>(start: () => TValue | Promise<TValue>, connection: AbortController): Promise<TValue> {
    const timeout = this.heartbeatTimeout;
    const stop = this.options.signal;
    return new Promise<TValue>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onStop = (): void => {
        cleanup();
        reject(STOPPED);
      };
      const cleanup = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        stop?.removeEventListener('abort', onStop);
      };
      if (timeout > 0) {
        timer = setTimeout(() => {
          cleanup();
          const error = new EnclaveError('HEARTBEAT_TIMEOUT', `No message within ${timeout} ms`);
          connection.abort(error);
          this.scheduleRetry(error);
          reject(error);
        }, timeout);
      }
      stop?.addEventListener('abort', onStop, { once: true });
      let started: TValue | Promise<TValue>;
      try {
        started = start();
      } catch (error) {
        cleanup();
        reject(error);
        return;
      }
      Promise.resolve(started).then(
        (value) => {
          cleanup();
          resolve(value);
        },
        (error: unknown) => {
          cleanup();
          reject(error);
        },
      );
    });
  }
}

function broken(reason: EnclaveError): ConnectionEnd {
  return { kind: 'broken', reason };
}

function protocolError(message: string): EnclaveError {
  return new EnclaveError('PROTOCOL_ERROR', message);
}
