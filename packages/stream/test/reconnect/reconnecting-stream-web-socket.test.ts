import type { EnclaveError, StreamEvent } from '@enclave-vm/types';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import {
  ReconnectingStream,
  type ReconnectingStreamOptions,
} from '../../src/reconnect/reconnecting-stream.js';
import {
  makeSessionEvents,
  type ServerConnection,
  seededRandom,
  startTestEventServer,
  type TestEventServer,
} from './test-event-server.js';

const SESSION = 'ses_sockets';
const servers: TestEventServer[] = [];
const streams: Array<ReconnectingStream<StreamEvent>> = [];

afterEach(async () => {
  vi.useRealTimers();
  for (const stream of streams.splice(0)) await stream.close();
  for (const server of servers.splice(0)) await server.close();
});

async function startServer(handler?: (connection: ServerConnection) => void): Promise<TestEventServer> {
  const server = await startTestEventServer(handler);
  servers.push(server);
  return server;
}

interface Observed {
  stream: ReconnectingStream<StreamEvent>;
  delivered: number[];
  errors: EnclaveError[];
  reconnects: number[];
  /** Resolves with the ending error (undefined for a clean end) when the stream closes. */
  ended: Promise<EnclaveError | undefined>;
  /** Resolves once `count` events were delivered. */
  deliveredCount(count: number): Promise<void>;
}

function follow(url: string, options: Partial<ReconnectingStreamOptions<StreamEvent>> = {}): Observed {
  const delivered: number[] = [];
  const errors: EnclaveError[] = [];
  const reconnects: number[] = [];
  const countWaiters: Array<{ count: number; resolve: () => void }> = [];
  let resolveEnded: (error: EnclaveError | undefined) => void = () => undefined;
  const ended = new Promise<EnclaveError | undefined>((resolve) => {
    resolveEnded = resolve;
  });
  const stream = new ReconnectingStream<StreamEvent>({
    url,
    sessionId: SESSION,
    WebSocket,
    reconnect: { maxAttempts: 5, initialDelay: 5, maxDelay: 20, backoffMultiplier: 2 },
    onMessage: (message) => {
      delivered.push(message.seq);
      for (const waiter of countWaiters) if (delivered.length === waiter.count) waiter.resolve();
    },
    onError: (error) => errors.push(error),
    onReconnect: (attempt) => reconnects.push(attempt),
    onClose: (error) => resolveEnded(error),
    ...options,
  });
  streams.push(stream);
  const deliveredCount = (count: number) =>
    delivered.length >= count
      ? Promise.resolve()
      : new Promise<void>((resolve) => countWaiters.push({ count, resolve }));
  return { stream, delivered, errors, reconnects, ended, deliveredCount };
}

function serveFrom(connection: ServerConnection, events: StreamEvent[], until = events.length): void {
  for (let seq = connection.subscription.fromSeq; seq <= until; seq++) connection.send(events[seq - 1]);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, index) => from + index);
}

describe('ReconnectingStream over real WebSockets', () => {
  it('delivers 2,000 events exactly once and in order through 200 random drops', async () => {
    const events = makeSessionEvents(SESSION, 2000);
    const random = seededRandom(20_240_601);
    const closeCodes = [1001, 1011, 1012, 1013, 4000, 4999];
    let drops = 0;
    let terminations = 0;
    let gaps = 0;
    const server = await startServer((connection) => {
      const fromSeq = connection.subscription.fromSeq;
      // Sometimes replay a few events the client already has, as a server may after a failover.
      const start = Math.max(1, fromSeq - Math.floor(random() * 3));
      if (drops === 200) {
        for (let seq = start; seq <= events.length; seq++) connection.send(events[seq - 1]);
        return;
      }
      const count = Math.floor(random() * 15);
      const until = Math.min(events.length - 1, fromSeq + count - 1);
      // Sometimes lose one event on the way, which the client must notice as a gap.
      const skipped = random() < 0.05 && until > fromSeq ? fromSeq + 1 : 0;
      if (skipped !== 0) gaps++;
      for (let seq = start; seq <= until; seq++) if (seq !== skipped) connection.send(events[seq - 1]);
      drops++;
      if (random() < 0.5) {
        terminations++;
        connection.terminate();
      } else {
        connection.close(closeCodes[Math.floor(random() * closeCodes.length)] ?? 1011, 'test drop');
      }
    });
    const observed = follow(server.url, {
      reconnect: { maxAttempts: 50, initialDelay: 1, maxDelay: 8, backoffMultiplier: 2 },
    });
    await observed.stream.connect();
    expect(await observed.ended).toBeUndefined();

    expect(drops).toBe(200);
    expect(gaps).toBeGreaterThan(0);
    expect(terminations).toBeGreaterThan(50);
    expect(200 - terminations).toBeGreaterThan(50);
    expect(observed.delivered).toEqual(range(1, 2000));
    expect(observed.errors).toEqual([]);
    expect(observed.stream.state).toBe('closed');
    const fromSeqs = server.subscriptions.map((subscription) => subscription.fromSeq);
    expect(fromSeqs.length).toBeGreaterThanOrEqual(201);
    for (let index = 1; index < fromSeqs.length; index++) {
      expect(fromSeqs[index]).toBeGreaterThanOrEqual(fromSeqs[index - 1] as number);
    }
  });

  it('gives up with RECONNECT_FAILED when the server goes away for good', async () => {
    const events = makeSessionEvents(SESSION, 100);
    const server = await startServer((connection) => serveFrom(connection, events, 5));
    const observed = follow(server.url, {
      reconnect: { maxAttempts: 3, initialDelay: 5, maxDelay: 20, backoffMultiplier: 2 },
    });
    await observed.stream.connect();
    await observed.deliveredCount(5);
    await server.close();
    servers.splice(servers.indexOf(server), 1);

    const error = await observed.ended;
    expect(error).toMatchObject({ code: 'RECONNECT_FAILED' });
    expect(error?.message).toMatch(/after 3 attempts/);
    expect(observed.errors).toEqual([error]);
    expect(observed.reconnects).toEqual([1, 2, 3]);
    expect(observed.delivered).toEqual([1, 2, 3, 4, 5]);
  });

  it('rejects connect() with RECONNECT_FAILED when no server ever answers', async () => {
    const server = await startServer();
    const url = server.url;
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    const observed = follow(url, { reconnect: { maxAttempts: 2, initialDelay: 1, maxDelay: 2 } });
    await expect(observed.stream.connect()).rejects.toMatchObject({
      code: 'RECONNECT_FAILED',
      cause: expect.objectContaining({ code: 'CONNECTION_CLOSED' }),
    });
    expect(observed.reconnects).toEqual([1, 2]);
  });

  it('detects a server that stops sending through the heartbeat timeout and resumes elsewhere', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const events = makeSessionEvents(SESSION, 20);
    let connections = 0;
    const server = await startServer((connection) => {
      connections++;
      // The first connection goes silent after three events but stays open.
      serveFrom(connection, events, connections === 1 ? 3 : events.length);
    });
    const observed = follow(server.url, {
      heartbeatTimeout: 10_000,
      reconnect: { maxAttempts: 3, initialDelay: 1000, maxDelay: 1000, backoffMultiplier: 2, jitter: 0 },
    });
    await observed.stream.connect();
    await observed.deliveredCount(3);
    vi.advanceTimersByTime(9_999);
    expect(observed.stream.state).toBe('open');
    vi.advanceTimersByTime(1);
    expect(observed.stream.state).toBe('reconnecting');
    const resubscribed = server.nextSubscription();
    vi.advanceTimersByTime(1000);
    expect((await resubscribed).subscription.fromSeq).toBe(4);
    expect(await observed.ended).toBeUndefined();
    expect(observed.delivered).toEqual(range(1, 20));
    expect(observed.reconnects).toEqual([1]);
  });

  it('stops without reconnecting when the server refuses with a non-retryable stream_error', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const server = await startServer((connection) => {
      connection.send({ type: 'stream_error', code: 'UNAUTHORIZED', message: 'Invalid token' });
      connection.close(1008, 'unauthorized');
    });
    const observed = follow(server.url, { token: 'wrong' });
    await observed.stream.connect();
    const error = await observed.ended;
    expect(error).toMatchObject({ code: 'UNAUTHORIZED', message: 'Invalid token' });
    expect(observed.errors).toEqual([error]);
    vi.advanceTimersByTime(60_000);
    expect(server.subscriptions).toEqual([
      { type: 'subscribe', sessionId: SESSION, fromSeq: 1, token: 'wrong' },
    ]);
    expect(observed.reconnects).toEqual([]);
  });

  it('buffers messages sent while disconnected and delivers them after resubscribing', async () => {
    const events = makeSessionEvents(SESSION, 10);
    let connections = 0;
    const server = await startServer((connection) => {
      connections++;
      if (connections === 1) {
        serveFrom(connection, events, 2);
        connection.close(1012, 'restarting');
      }
    });
    let reconnecting: () => void = () => undefined;
    const disconnected = new Promise<void>((resolve) => {
      reconnecting = resolve;
    });
    const observed = follow(server.url, {
      reconnect: { maxAttempts: 5, initialDelay: 30, maxDelay: 30, backoffMultiplier: 1 },
      onStateChange: (state) => {
        if (state === 'reconnecting') reconnecting();
      },
    });
    await observed.stream.connect();
    await disconnected;
    const secondSubscription = server.nextSubscription();
    const sends = [
      observed.stream.send({ type: 'tool_result', callId: 'call_1' }),
      observed.stream.send({ type: 'tool_result', callId: 'call_2' }),
    ];
    const second = await secondSubscription;
    await Promise.all(sends);
    expect(second.subscription.fromSeq).toBe(3);
    expect(await server.receivedCount(2)).toEqual([
      { type: 'tool_result', callId: 'call_1' },
      { type: 'tool_result', callId: 'call_2' },
    ]);
    serveFrom(second, events);
    expect(await observed.ended).toBeUndefined();
    expect(observed.delivered).toEqual(range(1, 10));
  });
});
