import { ReconnectingStream } from '@enclave-vm/stream';
import {
  type EnclaveError,
  StreamErrorMessageSchema,
  type StreamEvent,
  type WireEvent,
} from '@enclave-vm/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { z } from 'zod';
import {
  postJson,
  range,
  readAllEvents,
  seqsOf,
  startDropProxy,
  startTestBroker,
  type TestBroker,
} from './http-test-helpers.js';

/** Twenty lines, each followed by a short broker-side tool call: a stream that lasts a little while. */
const TICKING = `
  let total = 0;
  for (let tick = 1; tick <= 20; tick++) {
    console.log('tick ' + tick);
    total += await tools.tick({ tick });
  }
  return total;
`;

/** Sends raw messages on the event WebSocket and collects frames until the server closes. */
async function rawSubscription(
  url: string,
  messages: Array<string | Buffer>,
): Promise<{ frames: unknown[]; closeCode: number }> {
  const socket = new WebSocket(`${url.replace('http', 'ws')}/sessions/stream`);
  const frames: unknown[] = [];
  socket.on('message', (data) => frames.push(JSON.parse(String(data))));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  for (const message of messages) socket.send(message);
  const closeCode = await new Promise<number>((resolve) => socket.once('close', resolve));
  return { frames, closeCode };
}

describe('WebSocket /sessions/stream', () => {
  let server: TestBroker;
  beforeAll(async () => {
    server = await startTestBroker();
    server.broker.tool('tick', {
      description: 'Waits a little and returns the tick',
      argsSchema: z.object({ tick: z.number() }),
      handler: async ({ tick }) => {
        await new Promise((resolve) => setTimeout(resolve, 10));
        return tick;
      },
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it('delivers every event exactly once, in order, to a ReconnectingStream whose connection keeps dropping', async () => {
    await using proxy = await startDropProxy(server.url);
    const response = await postJson(`${server.url}/execute`, { code: TICKING });
    const sessionId = response.headers.get('x-session-id') ?? '';

    const received: WireEvent[] = [];
    const reconnects: EnclaveError[] = [];
    const dropAfter = new Set([5, 20, 40]);
    const closed = new Promise<EnclaveError | undefined>((resolve) => {
      const stream = new ReconnectingStream({
        url: `ws://${proxy.host}/sessions/stream`,
        sessionId,
        WebSocket,
        reconnect: { maxAttempts: 10, initialDelay: 10, maxDelay: 50, backoffMultiplier: 2 },
        heartbeatTimeout: 5000,
        onReconnect: (_attempt, reason) => reconnects.push(reason),
        onMessage: (event) => {
          received.push(event);
          if (dropAfter.has(received.length)) proxy.dropAll();
        },
        onClose: resolve,
      });
      void stream.connect();
    });

    expect(await closed).toBeUndefined();
    expect(reconnects.length).toBeGreaterThanOrEqual(3);
    expect(seqsOf(received as StreamEvent[])).toEqual(range(1, received.length));
    expect(received.at(-1)).toMatchObject({ type: 'final', payload: { ok: true, result: 210 } });
    // The same events the session logged, no more and no fewer.
    const logged = await readAllEvents(await fetch(`${server.url}/sessions/${sessionId}/events`));
    expect(received).toEqual(logged);
    await readAllEvents(response);
  });

  it('replays from fromSeq and closes with 1000 after final', async () => {
    const response = await postJson(`${server.url}/execute`, {
      code: `console.log('a'); console.log('b'); return 'c'`,
    });
    const sessionId = response.headers.get('x-session-id') ?? '';
    const logged = await readAllEvents(response);

    const { frames, closeCode } = await rawSubscription(server.url, [
      JSON.stringify({ type: 'subscribe', sessionId, fromSeq: 2 }),
    ]);
    expect(closeCode).toBe(1000);
    expect(frames).toEqual(logged.slice(1));
  });

  it('answers an unknown session with a stream_error, and ReconnectingStream gives up at once', async () => {
    const { frames, closeCode } = await rawSubscription(server.url, [
      JSON.stringify({ type: 'subscribe', sessionId: 'ses_missing', fromSeq: 1 }),
    ]);
    expect(frames.map((frame) => StreamErrorMessageSchema.parse(frame).code)).toEqual(['SESSION_NOT_FOUND']);
    expect(closeCode).toBe(1008);

    const reconnects: number[] = [];
    const ended = await new Promise<EnclaveError | undefined>((resolve) => {
      const stream = new ReconnectingStream({
        url: `${server.url.replace('http', 'ws')}/sessions/stream`,
        sessionId: 'ses_missing',
        WebSocket,
        onReconnect: (attempt) => reconnects.push(attempt),
        onClose: resolve,
      });
      stream.connect().catch(() => undefined);
    });
    expect(ended?.code).toBe('SESSION_NOT_FOUND');
    expect(reconnects).toEqual([]);
  });

  it('answers a malformed subscription with a PROTOCOL_ERROR stream_error', async () => {
    for (const message of [
      'not json',
      JSON.stringify({ type: 'subscribe', fromSeq: 0 }),
      Buffer.from([1, 2, 3]),
    ]) {
      const { frames } = await rawSubscription(server.url, [message]);
      expect(frames.map((frame) => StreamErrorMessageSchema.parse(frame).code)).toEqual(['PROTOCOL_ERROR']);
    }
  });
});
