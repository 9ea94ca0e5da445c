import { EnclaveError } from '@enclave-vm/types';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectionLost } from '../../src/reconnect/connection-lost.js';
import { type ResumableBatches, type ResumableOptions, resumable } from '../../src/reconnect/resumable.js';

interface Event {
  seq: number;
  type: string;
}

const stdout = (seq: number): Event => ({ seq, type: 'stdout' });
const final = (seq: number): Event => ({ seq, type: 'final' });

/** A connection that yields the given batches, then stays open (or ends, or throws). */
function connection(
  batches: Event[][],
  after: 'hang' | 'end' | Error = 'end',
  signal?: AbortSignal,
): ResumableBatches<Event> {
  return {
    async *[Symbol.asyncIterator]() {
      for (const batch of batches) yield batch;
      if (after === 'end') return;
      if (after instanceof Error) throw after;
      await new Promise((resolve) => signal?.addEventListener('abort', resolve, { once: true }));
    },
  };
}

/** Reads a resumable reader to its end, recording the seqs delivered and how it ended. */
async function drain(reader: AsyncIterable<readonly Event[]>) {
  const seqs: number[] = [];
  try {
    for await (const batch of reader) seqs.push(...batch.map((event) => event.seq));
    return { seqs, error: undefined };
  } catch (error) {
    return { seqs, error: error as EnclaveError };
  }
}

const quick: ResumableOptions<Event> = { heartbeatTimeout: 0, retry: { initialDelay: 1000, jitter: 0 } };

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('resumable', () => {
  it('delivers each seq once and in order across connections, resuming from the first missing seq', async () => {
    const opened: number[] = [];
    const plan = [
      [
        [stdout(1), stdout(2), stdout(1)],
        [stdout(2), stdout(3)],
      ],
      // A gap (5 before 4) breaks the connection; the next one starts at 4.
      [[stdout(3), stdout(5)]],
      [[stdout(4), stdout(5), final(6), stdout(7)]],
    ];
    const reader = resumable((fromSeq) => {
      opened.push(fromSeq);
      return connection(plan[opened.length - 1] ?? []);
    }, quick);
    const reading = drain(reader);
    await vi.advanceTimersByTimeAsync(5000);
    expect(await reading).toEqual({ seqs: [1, 2, 3, 4, 5, 6], error: undefined });
    expect(opened).toEqual([1, 4, 4]);
    expect(reader.lastSeq).toBe(6);
  });

  it('accepts skipped seqs on a connection that says it skips them', async () => {
    const reader = resumable(
      () => Object.assign(connection([[stdout(2), stdout(7), final(9)]]), { skipsSeqs: true }),
      quick,
    );
    expect(await drain(reader)).toEqual({ seqs: [2, 7, 9], error: undefined });
  });

  it('replaces a connection that stays silent for heartbeatTimeout, but not while the consumer is busy', async () => {
    const opened: number[] = [];
    const reader = resumable(
      (fromSeq, signal) => {
        opened.push(fromSeq);
        return opened.length === 1 ? connection([[stdout(1)]], 'hang', signal) : connection([[final(2)]]);
      },
      { ...quick, heartbeatTimeout: 10_000 },
    );
    const iterator = reader[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toEqual([stdout(1)]);
    // The consumer holds the batch for long: that time is not silence.
    await vi.advanceTimersByTimeAsync(60_000);
    const next = iterator.next();
    await vi.advanceTimersByTimeAsync(9_999);
    expect(opened).toEqual([1]);
    await vi.advanceTimersByTimeAsync(1 + 1000);
    expect(opened).toEqual([1, 2]);
    expect((await next).value).toEqual([final(2)]);
  });

  it('waits at least Retry-After, backs off, and gives up with RECONNECT_FAILED after maxAttempts', async () => {
    const opened: number[] = [];
    const limited = new EnclaveError('RATE_LIMITED', 'Slow down', { details: { retryAfterMs: 5000 } });
    const reader = resumable(
      () => {
        opened.push(Date.now());
        throw limited;
      },
      {
        heartbeatTimeout: 0,
        retry: { maxAttempts: 2, initialDelay: 1000, maxDelay: 30_000, jitter: 0 },
        describe: () => 'the test stream',
      },
    );
    const start = Date.now();
    const reading = drain(reader);
    await vi.advanceTimersByTimeAsync(20_000);
    const { error } = await reading;
    expect(error).toMatchObject({ code: 'RECONNECT_FAILED', cause: limited });
    expect(error?.message).toMatch(/^Lost the test stream and gave up after 2 attempts: Slow down/);
    expect(opened.map((time) => time - start)).toEqual([0, 5000, 10_000]);
  });

  it('ends at once with an error that is not retryable, and resumes after a ConnectionLost of any code', async () => {
    const refused = new EnclaveError('UNAUTHORIZED', 'No');
    expect(await drain(resumable(() => connection([[stdout(1)]], refused), quick))).toEqual({
      seqs: [1],
      error: refused,
    });
    let opens = 0;
    const reader = resumable(
      () =>
        ++opens === 1
          ? connection([[stdout(1)]], new ConnectionLost(new EnclaveError('PROTOCOL_ERROR', 'bad frame')))
          : connection([[final(2)]]),
      quick,
    );
    const reading = drain(reader);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await reading).toEqual({ seqs: [1, 2], error: undefined });
  });

  it('closes the open connection when the consumer stops or the signal aborts', async () => {
    const aborted: boolean[] = [];
    const controller = new AbortController();
    const reader = resumable(
      (_fromSeq, signal) => {
        signal.addEventListener('abort', () => aborted.push(true));
        return connection([[stdout(1)]], 'hang', signal);
      },
      { ...quick, signal: controller.signal },
    );
    const reading = drain(reader);
    await vi.advanceTimersByTimeAsync(0);
    controller.abort();
    expect(await reading).toEqual({ seqs: [1], error: undefined });
    expect(aborted).toEqual([true]);
  });
});
