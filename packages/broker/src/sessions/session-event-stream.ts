import type { EnclaveError, StreamEvent } from '@enclave-vm/types';
import type { LoggedEvent } from './logged-event.js';
import type { SessionFollower } from './session-store.js';

/** What {@link SessionEventStream} gets once its source is open. */
export interface OpenedEventSource {
  /** Logged entries with `seq ≥ fromSeq`, oldest first. */
  replay: readonly LoggedEvent[];
  /** True when no entry beyond `replay` and those already pushed will ever come. */
  complete: boolean;
  /** Which entries the stream yields; `undefined` yields all. */
  predicate: ((entry: LoggedEvent) => boolean) | undefined;
  /** Stops the live delivery. */
  unsubscribe: () => void;
}

/**
 * Opens the source: reads the log, then subscribes `follower` to the entries after the last one
 * read. Rejects with the error the stream's first `next()` should throw.
 */
export type EventSourceOpener = (follower: SessionFollower) => Promise<OpenedEventSource>;

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * The events of one session from `fromSeq`: replayed, then live, ending after `final`. Entries the
 * subscription repeats or that come before `fromSeq` are dropped by seq, so none is lost or
 * repeated. `return()` releases the subscription at once, even while a `next()` waits for a live
 * event (a generator would wait for that event first); it never affects the session.
 */
export class SessionEventStream implements AsyncIterableIterator<StreamEvent> {
  private opening: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;
  private predicate: ((entry: LoggedEvent) => boolean) | undefined;
  private queue: LoggedEvent[] = [];
  private queueIndex = 0;
  private waiter: (() => void) | undefined;
  private nextSeq: number;
  private complete = false;
  private failure: EnclaveError | undefined;
  private done = false;

  constructor(
    private readonly openSource: EventSourceOpener,
    fromSeq: number,
  ) {
    this.nextSeq = fromSeq;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<StreamEvent, undefined>> {
    if (this.done) return DONE;
    this.opening ??= this.open();
    try {
      await this.opening;
    } catch (error) {
      this.finish();
      throw error;
    }
    for (;;) {
      if (this.done) return DONE;
      const entry = this.take();
      if (entry === undefined) {
        if (this.failure !== undefined) {
          const failure = this.failure;
          this.finish();
          throw failure;
        }
        if (this.complete) {
          this.finish();
          return DONE;
        }
        await new Promise<void>((resolve) => {
          this.waiter = resolve;
        });
        continue;
      }
      // `final` is always the last entry: the stream is done once it is handed out (or skipped).
      const isFinal = entry.type === 'final';
      if (entry.seq < this.nextSeq) {
        if (isFinal) this.finish();
        continue;
      }
      this.nextSeq = entry.seq + 1;
      if (isFinal) this.finish();
      if (this.predicate === undefined || this.predicate(entry)) {
        return { done: false, value: entry.event as StreamEvent };
      }
    }
  }

  async return(): Promise<IteratorResult<StreamEvent, undefined>> {
    this.finish();
    return DONE;
  }

  private async open(): Promise<void> {
    const source = await this.openSource(this.follower);
    if (this.done) {
      source.unsubscribe();
      return;
    }
    this.unsubscribe = source.unsubscribe;
    this.predicate = source.predicate;
    // Entries pushed while the source was opening come after the replay (repeats are dropped by seq).
    this.queue = [...source.replay, ...this.queue.slice(this.queueIndex)];
    this.queueIndex = 0;
    this.complete = source.complete;
  }

  private readonly follower: SessionFollower = {
    next: (entry) => {
      if (this.done) return;
      this.queue.push(entry);
      this.wake();
    },
    fail: (error) => {
      if (this.done) return;
      this.failure ??= error;
      this.wake();
    },
  };

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  private take(): LoggedEvent | undefined {
    if (this.queueIndex >= this.queue.length) {
      this.queue.length = 0;
      this.queueIndex = 0;
      return undefined;
    }
    return this.queue[this.queueIndex++];
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.queue = [];
    this.queueIndex = 0;
    this.wake();
  }
}
