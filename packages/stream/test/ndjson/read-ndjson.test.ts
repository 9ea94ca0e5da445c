import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { EnclaveError } from '@enclave-vm/types';
import { afterEach, describe, expect, it } from 'vitest';
import { readNDJSON } from '../../src/ndjson/read-ndjson.js';
import type { NDJSONChunk } from '../../src/ndjson/stream-decoder.js';

const utf8 = new TextEncoder();

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((server) => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    }),
  );
});

/** Starts an HTTP server on a free loopback port and returns its base URL. */
async function startServer(handler: (response: ServerResponse) => void): Promise<string> {
  const server = createServer((_request, response) => handler(response));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function collect<Message>(
  iterable: AsyncIterable<Message>,
): Promise<{ messages: Message[]; error: unknown }> {
  const messages: Message[] = [];
  try {
    for await (const message of iterable) messages.push(message);
    return { messages, error: undefined };
  } catch (error) {
    return { messages, error };
  }
}

function streamOf(chunks: NDJSONChunk[]): ReadableStream<NDJSONChunk> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

describe('readNDJSON', () => {
  it('iterates the events of a fetch response body', async () => {
    const baseUrl = await startServer((response) => {
      response.writeHead(200, { 'content-type': 'application/x-ndjson' });
      // Written in awkward pieces so that lines and characters straddle network chunks.
      const text = Array.from(
        { length: 20 },
        (_, index) => `${JSON.stringify({ seq: index + 1, text: 'é😀' })}\n`,
      ).join('');
      const bytes = Buffer.from(text);
      for (let position = 0; position < bytes.length; position += 7)
        response.write(bytes.subarray(position, position + 7));
      response.end();
    });
    const response = await fetch(`${baseUrl}/execute`, { method: 'POST', body: '{}' });
    const { messages, error } = await collect(readNDJSON<{ seq: number; text: string }>(response.body!));
    expect(error).toBeUndefined();
    expect(messages.map((message) => message.seq)).toEqual(
      Array.from({ length: 20 }, (_, index) => index + 1),
    );
    expect(messages.every((message) => message.text === 'é😀')).toBe(true);
  });

  it('cancels the fetch body when the loop stops early, so the server sees the connection close', async () => {
    let serverSawClose: () => void = () => undefined;
    const closed = new Promise<void>((resolve) => {
      serverSawClose = resolve;
    });
    const baseUrl = await startServer((response) => {
      response.writeHead(200, { 'content-type': 'application/x-ndjson' });
      let seq = 0;
      const timer = setInterval(() => {
        seq++;
        response.write(`{"seq":${seq}}\n`);
        // Bounded: ends by itself should the client never disconnect.
        if (seq === 2000) {
          clearInterval(timer);
          response.end();
        }
      }, 1);
      response.on('close', () => {
        clearInterval(timer);
        serverSawClose();
      });
    });
    const response = await fetch(baseUrl);
    const seen: number[] = [];
    for await (const message of readNDJSON<{ seq: number }>(response.body!)) {
      seen.push(message.seq);
      if (seen.length === 3) break;
    }
    await closed;
    expect(seen).toEqual([1, 2, 3]);
  });

  it('throws DECODE_ERROR after the messages before a malformed line, and cancels the source', async () => {
    let cancelled = false;
    const source = new ReadableStream<string>({
      start(controller) {
        controller.enqueue('{"seq":1}\n{"seq":2}\n{"seq":');
        controller.enqueue('3\n{"seq":4}\n');
      },
      cancel() {
        cancelled = true;
      },
    });
    const { messages, error } = await collect(readNDJSON(source));
    expect(messages).toEqual([{ seq: 1 }, { seq: 2 }]);
    expect(EnclaveError.isInstance(error) && error.code).toBe('DECODE_ERROR');
    expect((error as EnclaveError).message).toContain('line 3');
    expect(cancelled).toBe(true);
  });

  it('skips bad lines when onError is given, and decodes a last line without newline', async () => {
    const errors: string[] = [];
    const { messages, error } = await collect(
      readNDJSON(streamOf(['{"seq":1}\nnope\n', '{"seq":3}']), {
        onError: (failure) => errors.push(failure.code),
      }),
    );
    expect(error).toBeUndefined();
    expect(messages).toEqual([{ seq: 1 }, { seq: 3 }]);
    expect(errors).toEqual(['DECODE_ERROR']);
  });

  it('reports a line longer than maxLineSize as LINE_TOO_LONG', async () => {
    const { messages, error } = await collect(
      readNDJSON(streamOf(['{"seq":1}\n', `{"text":"${'x'.repeat(100)}"}\n`, '{"seq":3}\n']), {
        maxLineSize: 50,
      }),
    );
    expect(messages).toEqual([{ seq: 1 }]);
    expect(EnclaveError.isInstance(error) && error.code).toBe('LINE_TOO_LONG');
  });

  it('reads Node streams and other async iterables of bytes or text', async () => {
    const fromNode = await collect(
      readNDJSON(Readable.from([Buffer.from('{"seq":1}\n{"se'), Buffer.from('q":2}\n')])),
    );
    expect(fromNode.messages).toEqual([{ seq: 1 }, { seq: 2 }]);
    async function* strings(): AsyncGenerator<string> {
      yield '{"seq":3}\n';
      yield '{"seq":4}';
    }
    expect((await collect(readNDJSON(strings()))).messages).toEqual([{ seq: 3 }, { seq: 4 }]);
  });

  it('turns a failing source into CONNECTION_CLOSED with the failure as cause', async () => {
    const failure = new TypeError('terminated');
    const source = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(utf8.encode('{"seq":1}\n'));
      },
      pull(controller) {
        controller.error(failure);
      },
    });
    const { messages, error } = await collect(readNDJSON(source));
    expect(messages).toEqual([{ seq: 1 }]);
    expect(EnclaveError.isInstance(error) && error.code).toBe('CONNECTION_CLOSED');
    expect((error as EnclaveError).cause).toBe(failure);
    expect((error as EnclaveError).retryable).toBe(true);
  });

  it('passes an EnclaveError raised by the source through unchanged', async () => {
    const failure = new EnclaveError('HEARTBEAT_TIMEOUT', 'no heartbeat');
    async function* failing(): AsyncGenerator<string> {
      yield '{"seq":1}\n';
      throw failure;
    }
    const { error } = await collect(readNDJSON(failing()));
    expect(error).toBe(failure);
  });

  it('pulls the next chunk only when the consumer wants the next message', async () => {
    let pulls = 0;
    const source = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          pulls++;
          // Bounded: a source of 100 chunks of 5 lines each.
          if (pulls > 100) {
            controller.close();
            return;
          }
          let text = '';
          for (let line = 0; line < 5; line++) text += `{"seq":${(pulls - 1) * 5 + line}}\n`;
          controller.enqueue(utf8.encode(text));
        },
      },
      { highWaterMark: 0 },
    );
    const pullsAtCheckpoints: number[] = [];
    let consumed = 0;
    for await (const message of readNDJSON<{ seq: number }>(source)) {
      expect(message.seq).toBe(consumed);
      consumed++;
      if (consumed % 50 === 0) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        pullsAtCheckpoints.push(pulls);
      }
      if (consumed === 200) break;
    }
    // 50 messages need 10 chunks; the source was asked for at most one more than that.
    expect(pullsAtCheckpoints).toHaveLength(4);
    pullsAtCheckpoints.forEach((pullCount, index) => {
      expect(pullCount).toBeLessThanOrEqual((index + 1) * 10 + 1);
    });
  });
});
