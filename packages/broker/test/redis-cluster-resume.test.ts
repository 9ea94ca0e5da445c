import { ReconnectingStream, readNDJSON } from '@enclave-vm/stream';
import { seededRandom } from '@enclave-vm/test-utils';
import { type EnclaveError, type StreamEvent, StreamEventSchema, type WireEvent } from '@enclave-vm/types';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { postJson, readAllEvents } from './http-test-helpers.js';
import { type BrokerProcess, startBrokerProcess, startClusterBroker } from './redis-cluster-helpers.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

const processes: BrokerProcess[] = [];
afterEach(async () => {
  await Promise.all(processes.splice(0).map((process) => process.script.stop('SIGTERM')));
});

/** 2,500 lines, with a slow broker tool call every fiftieth: a session that logs for a few seconds. */
const CHATTY = `
  for (let line = 1; line <= 2500; line++) {
    console.log('line ' + line);
    if (line % 50 === 0) await tools.tick({ tick: line, waitMs: 40 });
  }
  return 'done';
`;

/** Reads up to `count` events of a resume response, then drops the connection. */
async function readSome(url: string, count: number): Promise<StreamEvent[]> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });
  if (response.status !== 200)
    throw new Error(`${url} answered ${response.status}: ${await response.text()}`);
  const events: StreamEvent[] = [];
  try {
    for await (const line of readNDJSON(response.body as ReadableStream<Uint8Array>)) {
      events.push(StreamEventSchema.parse(line));
      if (events.length >= count) break;
    }
  } finally {
    controller.abort();
  }
  return events;
}

describe('resume across brokers', () => {
  it('loses and repeats nothing through 1,000 random disconnects, each resumed on a random broker', {
    timeout: 120_000,
  }, async () => {
    const keyPrefix = `resume:${Date.now()}:`;
    const owner = await startBrokerProcess(redis.url, keyPrefix);
    processes.push(owner);
    const second = await startBrokerProcess(redis.url, keyPrefix);
    processes.push(second);
    await using inProcess = await startClusterBroker(redis.url, keyPrefix);
    const urls = [owner.url, second.url, inProcess.url];

    const started = await postJson(`${owner.url}/execute`, { code: CHATTY });
    const sessionId = started.headers.get('x-session-id') ?? '';
    await started.body?.cancel();

    const random = seededRandom(11);
    const received: StreamEvent[] = [];
    let disconnects = 0;
    const brokersUsed = new Set<string>();
    for (;;) {
      const url = urls[Math.floor(random() * urls.length)] as string;
      brokersUsed.add(url);
      const fromSeq = received.length + 1;
      const batch = await readSome(
        `${url}/sessions/${sessionId}/events?fromSeq=${fromSeq}`,
        1 + Math.floor(random() * 3),
      );
      received.push(...batch);
      if (received.at(-1)?.type === 'final') break;
      disconnects++;
    }

    expect(disconnects).toBeGreaterThanOrEqual(1000);
    expect(brokersUsed.size).toBe(3);
    // Every seq once, in order: nothing lost, nothing repeated.
    expect(received.map((event) => event.seq)).toEqual(received.map((_event, index) => index + 1));
    expect(received.at(-1)).toMatchObject({ type: 'final', payload: { ok: true, result: 'done' } });
    expect(received.filter((event) => event.type === 'stdout')).toHaveLength(2500);
    // The stitched stream is the log, event for event.
    expect(received).toEqual(await readAllEvents(await fetch(`${second.url}/sessions/${sessionId}/events`)));
  });

  it('serves every route of a session across broker processes: WebSocket, tool result, cancel', {
    timeout: 60_000,
  }, async () => {
    const keyPrefix = `routes:${Date.now()}:`;
    const owner = await startBrokerProcess(redis.url, keyPrefix);
    processes.push(owner);
    const other = await startBrokerProcess(redis.url, keyPrefix);
    processes.push(other);
    const started = await postJson(`${owner.url}/execute`, { code: 'return await tools.ask({})' });
    const sessionId = started.headers.get('x-session-id') ?? '';
    const received: WireEvent[] = [];
    const closed = new Promise<EnclaveError | undefined>((resolve) => {
      const stream = new ReconnectingStream({
        url: `${other.url.replace('http', 'ws')}/sessions/stream`,
        sessionId,
        WebSocket,
        onMessage: (event) => {
          received.push(event);
          if (event.type === 'tool_call') {
            void postJson(`${other.url}/sessions/${sessionId}/tool-result`, {
              callId: event.payload.callId,
              result: 'answered on the other process',
            });
          }
        },
        onClose: resolve,
      });
      void stream.connect();
    });
    expect(await closed).toBeUndefined();
    expect(received.at(-1)).toMatchObject({
      type: 'final',
      payload: { ok: true, result: 'answered on the other process' },
    });
    expect(await readAllEvents(started)).toEqual(received);

    const waiting = await postJson(`${owner.url}/execute`, { code: 'return await tools.ask({})' });
    const waitingId = waiting.headers.get('x-session-id') ?? '';
    const cancelled = await fetch(`${other.url}/sessions/${waitingId}`, { method: 'DELETE' });
    expect(await cancelled.json()).toEqual({ success: true, sessionId: waitingId, status: 'error' });
    const events = await readAllEvents(waiting);
    expect(events.slice(-2).map((event) => event.type)).toEqual(['error', 'final']);
    expect(events.at(-2)).toMatchObject({ payload: { code: 'CANCELLED' } });
  });
});
