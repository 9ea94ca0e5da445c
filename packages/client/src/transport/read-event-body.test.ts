import { describe, expect, it } from 'vitest';
import type { BatchOutcome } from './batch-handler.js';
import { readEventBody } from './read-event-body.js';

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

/** A batch handler that records its batches and holds the first until `release()`. */
function heldHandler(finalAt: number) {
  const batches: number[][] = [];
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const onBatch = async (lines: unknown[]): Promise<BatchOutcome> => {
    const numbers = lines.map((line) => (line as { n: number }).n);
    batches.push(numbers);
    if (batches.length === 1) await held;
    return numbers.includes(finalAt) ? 'final' : 'continue';
  };
  return { batches, onBatch, release };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
const lines = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, index) => `${JSON.stringify({ n: from + index })}\n`);

describe('readEventBody', () => {
  it('reads only after each batch was handled by default', async () => {
    const { response, pulls } = bodyOf(lines(1, 4));
    const handler = heldHandler(4);
    const reading = readEventBody(response, {
      filtered: false,
      onBatch: handler.onBatch,
      signal: new AbortController().signal,
      heartbeatTimeout: 0,
    });
    await settle();
    expect(pulls()).toBe(1);
    handler.release();
    expect(await reading).toEqual({ kind: 'final' });
    expect(handler.batches).toEqual([[1], [2], [3], [4]]);
  });

  it('with readAhead, reads on while a batch is handled and hands what arrived over as one batch', async () => {
    const { response, pulls } = bodyOf(lines(1, 6));
    const handler = heldHandler(6);
    const reading = readEventBody(response, {
      filtered: false,
      onBatch: handler.onBatch,
      signal: new AbortController().signal,
      heartbeatTimeout: 0,
      readAhead: 3,
    });
    await settle();
    // Line 1 is being handled; lines 2–4 were read ahead, and reading stopped at the bound.
    expect(pulls()).toBe(4);
    handler.release();
    expect(await reading).toEqual({ kind: 'final' });
    expect(handler.batches[0]).toEqual([1]);
    expect(handler.batches[1]).toEqual([2, 3, 4]);
    expect(handler.batches.flat()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('with readAhead, hands over the lines read before the body ended, then reports it broken', async () => {
    const { response } = bodyOf([...lines(1, 3), '{"n":4']);
    const handler = heldHandler(99);
    const reading = readEventBody(response, {
      filtered: false,
      onBatch: handler.onBatch,
      signal: new AbortController().signal,
      heartbeatTimeout: 0,
      readAhead: 100,
    });
    await settle();
    handler.release();
    const outcome = await reading;
    expect(outcome.kind).toBe('broken');
    expect(outcome.kind === 'broken' && outcome.reason.code).toBe('CONNECTION_CLOSED');
    // The line cut in half is discarded.
    expect(handler.batches).toEqual([[1], [2, 3]]);
  });

  it('with readAhead, throws what the batch handler threw', async () => {
    const { response } = bodyOf(lines(1, 3));
    const failure = new Error('refused');
    const reading = readEventBody(response, {
      filtered: false,
      onBatch: async () => {
        throw failure;
      },
      signal: new AbortController().signal,
      heartbeatTimeout: 0,
      readAhead: 100,
    });
    await expect(reading).rejects.toBe(failure);
  });
});
