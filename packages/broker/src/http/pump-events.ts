import type { StreamEvent } from '@enclave-vm/types';

/** How {@link pumpEvents} ended: the stream finished, or the signal stopped it first. */
export type PumpOutcome = 'ended' | 'stopped';

/**
 * Hands each event of `iterator` to `deliver`, in order, until the stream ends or `signal` aborts.
 * An abort stops at once even while waiting for the next live event (a plain `for await` would wait
 * for it), and the iterator is then released with `return()`, which never cancels the session.
 * `first` is an event already taken from the iterator. Errors of the stream and of `deliver` are
 * thrown.
 */
export async function pumpEvents(
  iterator: AsyncIterator<StreamEvent>,
  signal: AbortSignal,
  deliver: (event: StreamEvent) => void | Promise<void>,
  first?: IteratorResult<StreamEvent>,
): Promise<PumpOutcome> {
  let wake: ((result: 'stopped') => void) | undefined;
  const onAbort = (): void => wake?.('stopped');
  signal.addEventListener('abort', onAbort, { once: true });
  let finished = false;
  try {
    let pending = first;
    for (;;) {
      if (signal.aborted) return 'stopped';
      let result: IteratorResult<StreamEvent> | 'stopped';
      if (pending !== undefined) {
        result = pending;
        pending = undefined;
      } else {
        const next = iterator.next();
        // One small promise per event rather than Promise.race against a long-lived abort promise,
        // whose reactions would pile up for the whole life of a long stream.
        result = await new Promise<IteratorResult<StreamEvent> | 'stopped'>((resolve, reject) => {
          wake = resolve;
          next.then(resolve, reject);
        });
        wake = undefined;
        if (result === 'stopped') {
          next.catch(() => undefined);
          return 'stopped';
        }
      }
      if (result.done === true) {
        finished = true;
        return 'ended';
      }
      const delivered = deliver(result.value);
      if (delivered !== undefined) await delivered;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    if (!finished) iterator.return?.()?.catch(() => undefined);
  }
}
