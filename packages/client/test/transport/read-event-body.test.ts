import { describe, expect, it } from 'vitest';
import { readEventBody } from '../../src/transport/read-event-body.js';

const encoder = new TextEncoder();

/** A response whose body yields one chunk per read, counting the reads the reader asked for. */
function bodyOf(chunks: string[]): { response: Response; pulls: () => number } {
  let index = 0;
  let pulls = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        pulls++;
        const chunk = chunks[index++];
        if (chunk === undefined) controller.close();
        else controller.enqueue(encoder.encode(chunk));
      },
    },
    { highWaterMark: 0 },
  );
  return { response: new Response(stream), pulls: () => pulls };
}

/**
 * Consumes a body's batches as a session does, recording them and holding the first batch until
 * `release()`; stops after the batch holding `finalAt`.
 */
function consume(batches: AsyncIterable<unknown[]>, finalAt: number) {
  const seen: number[][] = [];
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const done = (async () => {
    for await (const lines of batches) {
      const numbers = lines.map((line) => (line as { n: number }).n);
      if (numbers.length === 0) continue;
      seen.push(numbers);
      if (seen.length === 1) await held;
      if (numbers.includes(finalAt)) return 'final';
    }
    return 'ended';
  })();
  return { seen, done, release };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
const lines = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, index) => `${JSON.stringify({ n: from + index })}\n`);

describe('readEventBody', () => {
  it('reads only when the next batch is asked for by default', async () => {
    const { response, pulls } = bodyOf(lines(1, 4));
    const consumer = consume(readEventBody(response, { signal: new AbortController().signal }), 4);
    await settle();
    expect(pulls()).toBe(1);
    consumer.release();
    expect(await consumer.done).toBe('final');
    expect(consumer.seen).toEqual([[1], [2], [3], [4]]);
  });

  it('with readAhead, reads on while a batch is handled and hands what arrived over as one batch', async () => {
    const { response, pulls } = bodyOf(lines(1, 6));
    const consumer = consume(
      readEventBody(response, { signal: new AbortController().signal, readAhead: 3 }),
      6,
    );
    await settle();
    // Line 1 is being handled; lines 2–4 were read ahead, and reading stopped at the bound.
    expect(pulls()).toBe(4);
    consumer.release();
    expect(await consumer.done).toBe('final');
    expect(consumer.seen[0]).toEqual([1]);
    expect(consumer.seen[1]).toEqual([2, 3, 4]);
    expect(consumer.seen.flat()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('with readAhead, hands over the lines read before the body ended, then ends', async () => {
    const { response } = bodyOf([...lines(1, 3), '{"n":4']);
    const consumer = consume(
      readEventBody(response, { signal: new AbortController().signal, readAhead: 100 }),
      99,
    );
    await settle();
    consumer.release();
    expect(await consumer.done).toBe('ended');
    // The line cut in half is discarded.
    expect(consumer.seen).toEqual([[1], [2, 3]]);
  });

  it('stops reading and cancels the body when the consumer leaves', async () => {
    const { response, pulls } = bodyOf(lines(1, 50));
    const consumer = consume(
      readEventBody(response, { signal: new AbortController().signal, readAhead: 3 }),
      2,
    );
    consumer.release();
    expect(await consumer.done).toBe('final');
    await settle();
    const after = pulls();
    await settle();
    expect(pulls()).toBe(after);
    expect(after).toBeLessThan(10);
  });

  it('ends when the signal aborts', async () => {
    const controller = new AbortController();
    const never = new Response(new ReadableStream<Uint8Array>({ pull() {} }));
    const consumer = consume(readEventBody(never, { signal: controller.signal }), 1);
    controller.abort();
    expect(await consumer.done).toBe('ended');
  });
});
