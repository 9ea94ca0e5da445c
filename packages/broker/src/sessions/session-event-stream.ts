import type { StreamEvent } from '@enclave-vm/types';
import { loggedTypeOf } from './session-encryption.js';

/** What {@link SessionEventStream} gets once its source is open. */
export interface OpenedEventSource {
  /** Logged events with `seq ≥ fromSeq`, oldest first. */
  replay: readonly StreamEvent[];
  /** True when no event beyond `replay` and those already pushed will ever come. */
  complete: boolean;
  /** Which events the stream yields; `undefined` yields all. */
  predicate: ((event: StreamEvent) => boolean) | undefined;
  /** Stops the live delivery. */
  unsubscribe: () => void;
}

/**
 * Opens the source: subscribes `push` to live events first, then reads the log, so that no event
 * falls between the two. Rejects with the error the stream's first `next()` should throw.
 */
export type EventSourceOpener = (push: (event: StreamEvent) => void) => Promise<OpenedEventSource>;

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * The events of one session from `fromSeq`: replayed, then live, ending after `final`. Live events
 * that overlap the replay are dropped by seq, so none is lost or repeated. `return()` releases the
 * subscription at once, even while a `next()` waits for a live event (a generator would wait for
 * that event first); it never affects the session.
 */
export class SessionEventStream implements AsyncIterableIterator<StreamEvent> {
  private opening: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;
  private predicate: ((event: StreamEvent) => boolean) | undefined;
  private queue: StreamEvent[] = [];
  private queueIndex = 0;
  private waiter: (() => void) | undefined;
  private nextSeq: number;
  private complete = false;
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
      const event = this.take();
      if (event === undefined) {
        if (this.complete) {
          this.finish();
          return DONE;
        }
        await new Promise<void>((resolve) => {
          this.waiter = resolve;
        });
        continue;
      }
      if (event.seq < this.nextSeq) continue;
      this.nextSeq = event.seq + 1;
      // `final` is always the last event: the stream is done once it is handed out.
      if (loggedTypeOf(event) === 'final') this.finish();
      if (this.predicate === undefined || this.predicate(event)) return { done: false, value: event };
    }
  }

  async return(): Promise<IteratorResult<StreamEvent, undefined>> {
    this.finish();
    return DONE;
  }

  private async open(): Promise<void> {
    const source = await this.openSource(this.push);
    if (this.done) {
      source.unsubscribe();
      return;
    }
    this.unsubscribe = source.unsubscribe;
    this.predicate = source.predicate;
    // Events pushed while the log was read come after the replay (duplicates are dropped by seq).
    this.queue = [...source.replay, ...this.queue.slice(this.queueIndex)];
    this.queueIndex = 0;
    this.complete = source.complete;
  }

  private readonly push = (event: StreamEvent): void => {
    if (this.done) return;
    this.queue.push(event);
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  };

  private take(): StreamEvent | undefined {
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
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}
