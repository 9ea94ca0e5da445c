import { setImmediate as nextTurn } from 'node:timers/promises';
import { EnclaveError } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import { createNDJSONDecoderStream } from '../../src/ndjson/create-ndjson-decoder-stream.js';
import { createNDJSONEncoderStream } from '../../src/ndjson/create-ndjson-encoder-stream.js';

async function readAll<Value>(readable: ReadableStream<Value>): Promise<Value[]> {
  const values: Value[] = [];
  const reader = readable.getReader();
  for (;;) {
    const result = await reader.read();
    if (result.done) return values;
    values.push(result.value);
  }
}

/**
 * Writes `total` messages through encoder → decoder streams to a reader that yields to the event loop
 * before every read, and returns the most messages the producer ever got ahead of the consumer.
 */
async function measureLead(options: {
  total: number;
  respectBackpressure: boolean;
  writableHighWaterMark?: number;
}): Promise<{ maxLead: number; received: number[] }> {
  const encoderStream = createNDJSONEncoderStream<{ seq: number }>(
    options.writableHighWaterMark === undefined
      ? {}
      : { writableStrategy: { highWaterMark: options.writableHighWaterMark } },
  );
  const output = encoderStream.readable.pipeThrough(createNDJSONDecoderStream<{ seq: number }>());
  const writer = encoderStream.writable.getWriter();
  let produced = 0;
  const producer = (async () => {
    for (let seq = 0; seq < options.total; seq++) {
      if (options.respectBackpressure) await writer.ready;
      void writer.write({ seq }).catch(() => undefined);
      produced++;
    }
    await writer.close();
  })();
  const reader = output.getReader();
  const received: number[] = [];
  let maxLead = 0;
  for (;;) {
    // A slow consumer: the producer gets several turns of the event loop before each read.
    for (let turn = 0; turn < 5; turn++) await nextTurn();
    maxLead = Math.max(maxLead, produced - received.length);
    const result = await reader.read();
    if (result.done) break;
    received.push(result.value.seq);
  }
  await producer;
  return { maxLead, received };
}

describe('createNDJSONEncoderStream', () => {
  it('turns each message into one Uint8Array line', async () => {
    const stream = createNDJSONEncoderStream();
    const writer = stream.writable.getWriter();
    const chunksPromise = readAll(stream.readable);
    await writer.write({ type: 'stdout', payload: { chunk: 'hé\n' } });
    await writer.write({ seq: 2 });
    await writer.close();
    const chunks = await chunksPromise;
    expect(chunks.every((chunk) => chunk instanceof Uint8Array)).toBe(true);
    expect(chunks.map((chunk) => new TextDecoder().decode(chunk))).toEqual([
      '{"type":"stdout","payload":{"chunk":"hé\\n"}}\n',
      '{"seq":2}\n',
    ]);
  });

  it('round-trips through createNDJSONDecoderStream', async () => {
    const messages = Array.from({ length: 100 }, (_, seq) => ({ seq, text: `message ${seq} 😀` }));
    const source = new ReadableStream({
      start(controller) {
        for (const message of messages) controller.enqueue(message);
        controller.close();
      },
    });
    const output = source.pipeThrough(createNDJSONEncoderStream()).pipeThrough(createNDJSONDecoderStream());
    expect(await readAll(output)).toEqual(messages);
  });

  it('errors the stream with BAD_REQUEST for a message JSON cannot represent', async () => {
    const stream = createNDJSONEncoderStream();
    const writer = stream.writable.getWriter();
    void readAll(stream.readable).catch(() => undefined);
    const failure = await writer.write(undefined).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(EnclaveError.isInstance(failure) && failure.code).toBe('BAD_REQUEST');
  });

  it('applies backpressure: a producer awaiting writer.ready stays a few messages ahead of a slow reader', async () => {
    const { maxLead, received } = await measureLead({ total: 300, respectBackpressure: true });
    expect(received).toEqual(Array.from({ length: 300 }, (_, seq) => seq));
    // Default high-water marks: 1 message queued on each writable side, none on the readable sides.
    expect(maxLead).toBeGreaterThan(0);
    expect(maxLead).toBeLessThanOrEqual(4);
  });

  it('lets the producer run as far ahead as a larger writable high-water mark allows, and no further', async () => {
    const { maxLead, received } = await measureLead({
      total: 300,
      respectBackpressure: true,
      writableHighWaterMark: 20,
    });
    expect(received).toHaveLength(300);
    expect(maxLead).toBeGreaterThanOrEqual(20);
    expect(maxLead).toBeLessThanOrEqual(23);
  });

  it('shows what backpressure prevents: ignoring writer.ready queues everything at once', async () => {
    const { maxLead, received } = await measureLead({ total: 300, respectBackpressure: false });
    expect(received).toHaveLength(300);
    expect(maxLead).toBe(300);
  });
});
