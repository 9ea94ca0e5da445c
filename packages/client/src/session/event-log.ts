import type { EnclaveError, StreamEvent } from '@enclave-vm/types';

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * The delivered events of one session, in seq order, and the iterators that read them: each
 * iteration starts at the first event, waits for new ones, and ends after `final` (or throws the
 * error that lost the session, after the events before it).
 */
export class EventLog {
  /** Every delivered event. */
  readonly events: StreamEvent[] = [];
  private ended = false;
  private failure: EnclaveError | undefined;
  private waiters: (() => void)[] = [];

  /** Adds an event; iterators see it after the next {@link flush}. */
  push(event: StreamEvent): void {
    this.events.push(event);
  }

  /** Wakes iterators waiting for new events. */
  flush(): void {
    if (this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** No more events will come; with `error`, iterators throw it once they have read the rest. */
  end(error?: EnclaveError): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = error;
    this.flush();
  }

  /** A new iterator from the first event. */
  iterator(): AsyncIterableIterator<StreamEvent> {
    let index = 0;
    let closed = false;
    const next = (): Promise<IteratorResult<StreamEvent, undefined>> => {
      if (closed) return Promise.resolve(DONE);
      const event = this.events[index];
      if (event !== undefined) {
        index++;
        return Promise.resolve({ done: false, value: event });
      }
      if (this.ended) {
        closed = true;
        return this.failure === undefined ? Promise.resolve(DONE) : Promise.reject(this.failure);
      }
      return new Promise<void>((resolve) => this.waiters.push(resolve)).then(next);
    };
    const iterator: AsyncIterableIterator<StreamEvent> = {
      next,
      return: () => {
        closed = true;
        return Promise.resolve(DONE);
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
}
