import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { EnclaveError } from '@enclave-vm/types';
import { afterEach, describe, expect, it } from 'vitest';
import { createNDJSONDecoderStream } from '../../src/ndjson/create-ndjson-decoder-stream.js';
import type { NDJSONChunk } from '../../src/ndjson/stream-decoder.js';

const utf8 = new TextEncoder();

function streamOf(chunks: NDJSONChunk[]): ReadableStream<NDJSONChunk> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

/** Reads until the end or an error, returning what arrived and the error, if any. */
async function drain<Value>(readable: ReadableStream<Value>): Promise<{ values: Value[]; error: unknown }> {
  const values: Value[] = [];
  const reader = readable.getReader();
  try {
    for (;;) {
      const result = await reader.read();
      if (result.done) return { values, error: undefined };
      values.push(result.value);
    }
  } catch (error) {
    return { values, error };
  }
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

describe('createNDJSONDecoderStream', () => {
  it('decodes byte chunks split anywhere, including inside characters', async () => {
    const messages = Array.from({ length: 50 }, (_, seq) => ({ seq, text: `é中😀 ${'x'.repeat(seq)}` }));
    const bytes = utf8.encode(messages.map((message) => `${JSON.stringify(message)}\n`).join(''));
    const chunks: Uint8Array[] = [];
    for (let position = 0, size = 1; position < bytes.length; position += size, size = (size % 37) + 1) {
      chunks.push(bytes.subarray(position, position + size));
    }
    const { values, error } = await drain(streamOf(chunks).pipeThrough(createNDJSONDecoderStream()));
    expect(error).toBeUndefined();
    expect(values).toEqual(messages);
  });

  it('decodes string chunks and a last line without newline', async () => {
    const { values } = await drain(
      streamOf(['{"seq":1}\r\n{"se', 'q":2}\n\n', '{"seq":3}']).pipeThrough(createNDJSONDecoderStream()),
    );
    expect(values).toEqual([{ seq: 1 }, { seq: 2 }, { seq: 3 }]);
  });

  it('delivers the messages before a malformed line, then errors with DECODE_ERROR', async () => {
    const { values, error } = await drain(
      streamOf(['{"seq":1}\n{"seq":2}\n{oops}\n{"seq":4}\n']).pipeThrough(createNDJSONDecoderStream()),
    );
    expect(values).toEqual([{ seq: 1 }, { seq: 2 }]);
    expect(EnclaveError.isInstance(error)).toBe(true);
    expect((error as EnclaveError).code).toBe('DECODE_ERROR');
    expect((error as EnclaveError).message).toContain('line 3');
  });

  it('skips bad lines and carries on when onError is given', async () => {
    const errors: EnclaveError[] = [];
    const decoderStream = createNDJSONDecoderStream({
      maxLineSize: 12,
      onError: (error) => errors.push(error),
    });
    const { values, error } = await drain(
      streamOf(['{"seq":1}\n{oops}\n', '{"long":"xxxxxxxx"}\n{"seq":4}']).pipeThrough(decoderStream),
    );
    expect(error).toBeUndefined();
    expect(values).toEqual([{ seq: 1 }, { seq: 4 }]);
    expect(errors.map((entry) => [entry.code, (entry.details as { line: number }).line])).toEqual([
      ['DECODE_ERROR', 2],
      ['LINE_TOO_LONG', 3],
    ]);
  });

  it('errors with LINE_TOO_LONG when a line passes maxLineSize and nobody handles errors', async () => {
    const { values, error } = await drain(
      streamOf(['{"seq":1}\n', '{"text":"', 'x'.repeat(100)]).pipeThrough(
        createNDJSONDecoderStream({ maxLineSize: 50 }),
      ),
    );
    expect(values).toEqual([{ seq: 1 }]);
    expect((error as EnclaveError).code).toBe('LINE_TOO_LONG');
  });

  it('decodes a real fetch response body streamed by an HTTP server', async () => {
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/x-ndjson' });
      let seq = 0;
      const timer = setInterval(() => {
        seq++;
        response.write(`${JSON.stringify({ seq, type: seq === 5 ? 'final' : 'stdout' })}\n`);
        if (seq === 5) {
          clearInterval(timer);
          response.end();
        }
      }, 2);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}/execute`);
    const body = response.body as ReadableStream<Uint8Array>;
    const { values, error } = await drain(
      body.pipeThrough(createNDJSONDecoderStream<{ seq: number; type: string }>()),
    );
    expect(error).toBeUndefined();
    expect(values.map((value) => value.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(values.at(-1)?.type).toBe('final');
  });

  it('applies backpressure: a chunk producer cannot get more than a few chunks ahead of a slow reader', async () => {
    const linesPerChunk = 10;
    const totalChunks = 40;
    const decoderStream = createNDJSONDecoderStream<{ seq: number }>();
    const writer = decoderStream.writable.getWriter();
    let producedMessages = 0;
    const producer = (async () => {
      for (let chunk = 0; chunk < totalChunks; chunk++) {
        await writer.ready;
        let text = '';
        for (let line = 0; line < linesPerChunk; line++) text += `{"seq":${chunk * linesPerChunk + line}}\n`;
        void writer.write(utf8.encode(text)).catch(() => undefined);
        producedMessages += linesPerChunk;
      }
      await writer.close();
    })();
    const reader = decoderStream.readable.getReader();
    let consumed = 0;
    let maxLead = 0;
    for (;;) {
      for (let turn = 0; turn < 5; turn++) await nextTurn();
      maxLead = Math.max(maxLead, producedMessages - consumed);
      const result = await reader.read();
      if (result.done) break;
      expect(result.value.seq).toBe(consumed);
      consumed++;
    }
    await producer;
    expect(consumed).toBe(totalChunks * linesPerChunk);
    // One chunk being read out, one queued on the writable side, and at most one more being written.
    expect(maxLead).toBeGreaterThan(linesPerChunk);
    expect(maxLead).toBeLessThanOrEqual(3 * linesPerChunk);
  });
});
