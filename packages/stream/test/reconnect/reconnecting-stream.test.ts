import { EnclaveError, type StreamEvent } from '@enclave-vm/types';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ReconnectingStream,
  type ReconnectingStreamOptions,
  type ReconnectingStreamState,
} from '../../src/reconnect/reconnecting-stream.js';
import {
  createInMemoryEventServer,
  type InMemoryEventServer,
  makeSessionEvents,
} from './test-event-server.js';

const SESSION = 'ses_unit';
const EVENTS = makeSessionEvents(SESSION, 10);

function event(seq: number): StreamEvent {
  return EVENTS[seq - 1] as StreamEvent;
}

interface Harness {
  stream: ReconnectingStream<StreamEvent>;
  delivered: number[];
  errors: EnclaveError[];
  reconnects: Array<{ attempt: number; code: string }>;
  states: ReconnectingStreamState[];
  closes: Array<EnclaveError | undefined>;
}

function createStream(
  server: InMemoryEventServer,
  options: Partial<ReconnectingStreamOptions<StreamEvent>> = {},
): Harness {
  const harness: Omit<Harness, 'stream'> = {
    delivered: [],
    errors: [],
    reconnects: [],
    states: [],
    closes: [],
  };
  const stream = new ReconnectingStream<StreamEvent>({
    url: 'memory://events',
    sessionId: SESSION,
    reconnect: { maxAttempts: 3, initialDelay: 1000, maxDelay: 5000, backoffMultiplier: 2, jitter: 0 },
    heartbeatTimeout: 0,
    createTransport: () => server.createTransport(),
    onMessage: (message) => harness.delivered.push(message.seq),
    onError: (error) => harness.errors.push(error),
    onReconnect: (attempt, reason) => harness.reconnects.push({ attempt, code: reason.code }),
    onStateChange: (state) => harness.states.push(state),
    onClose: (error) => harness.closes.push(error),
    ...options,
  });
  return { stream, ...harness };
}

/** Lets in-memory deliveries (microtasks) run without moving the fake clock. */
async function settle(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('ReconnectingStream', () => {
  it('subscribes from seq 1 with the session and token, and delivers events in order until final', async () => {
    const server = createInMemoryEventServer((connection) => {
      for (const each of EVENTS) connection.send(each);
    });
    const harness = createStream(server, { token: 'secret' });
    await harness.stream.connect();
    await settle();
    expect(server.subscriptions).toEqual([
      { type: 'subscribe', sessionId: SESSION, fromSeq: 1, token: 'secret' },
    ]);
    expect(harness.delivered).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(harness.stream.lastSeq).toBe(10);
    expect(harness.states).toEqual(['connecting', 'open', 'closed']);
    expect(harness.closes).toEqual([undefined]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(server.connections).toBe(1);
  });

  it('starts at fromSeq and does not deliver earlier events', async () => {
    const server = createInMemoryEventServer((connection) => {
      for (const each of EVENTS) connection.send(each);
    });
    const harness = createStream(server, { fromSeq: 8 });
    await harness.stream.connect();
    await settle();
    expect(server.subscriptions[0]).toMatchObject({ fromSeq: 8 });
    expect(server.subscriptions[0]).not.toHaveProperty('token');
    expect(harness.delivered).toEqual([8, 9, 10]);
  });

  it('after a drop, waits initialDelay and resubscribes from the first undelivered seq', async () => {
    let connection = 0;
    const server = createInMemoryEventServer((serverConnection) => {
      connection++;
      const from = serverConnection.subscription.fromSeq;
      const until = connection === 1 ? 4 : 10;
      for (let seq = from; seq <= until; seq++) serverConnection.send(event(seq));
      if (connection === 1) serverConnection.terminate();
    });
    const harness = createStream(server);
    await harness.stream.connect();
    await settle();
    expect(harness.delivered).toEqual([1, 2, 3, 4]);
    expect(harness.stream.state).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(999);
    expect(server.connections).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(harness.reconnects).toEqual([{ attempt: 1, code: 'CONNECTION_CLOSED' }]);
    expect(server.subscriptions.map((subscription) => subscription.fromSeq)).toEqual([1, 5]);
    expect(harness.delivered).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(harness.states).toEqual(['connecting', 'open', 'reconnecting', 'open', 'closed']);
  });

  it('backs off exponentially while attempts fail, then gives up with RECONNECT_FAILED', async () => {
    const server = createInMemoryEventServer();
    server.refuseConnections = true;
    const harness = createStream(server, {
      reconnect: { maxAttempts: 3, initialDelay: 1000, maxDelay: 3000, backoffMultiplier: 2, jitter: 0 },
    });
    const connected = harness.stream.connect().catch((error: unknown) => error);
    await settle();
    expect(server.connections).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(server.connections).toBe(2);
    await vi.advanceTimersByTimeAsync(1999);
    expect(server.connections).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.connections).toBe(3);
    // The third delay is capped at maxDelay (3000, not 4000).
    await vi.advanceTimersByTimeAsync(3000);
    expect(server.connections).toBe(4);
    const error = await connected;
    expect(EnclaveError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'RECONNECT_FAILED' });
    expect((error as EnclaveError).message).toMatch(/after 3 attempts/);
    expect((error as EnclaveError).cause).toMatchObject({ code: 'CONNECTION_CLOSED' });
    expect(harness.errors.map((each) => each.code)).toEqual(['RECONNECT_FAILED']);
    expect(harness.reconnects.map((each) => each.attempt)).toEqual([1, 2, 3]);
    expect(harness.closes).toHaveLength(1);
    expect(harness.stream.state).toBe('closed');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(server.connections).toBe(4);
  });

  it('with maxAttempts 0 gives up at the first drop', async () => {
    const server = createInMemoryEventServer((connection) => {
      connection.send(event(1));
      connection.terminate();
    });
    const harness = createStream(server, { reconnect: { maxAttempts: 0 } });
    await harness.stream.connect();
    await settle();
    expect(harness.delivered).toEqual([1]);
    expect(harness.errors.map((each) => each.code)).toEqual(['RECONNECT_FAILED']);
    expect(server.connections).toBe(1);
  });

  it('resets the attempt count once a connection delivers an event', async () => {
    let connection = 0;
    const server = createInMemoryEventServer((serverConnection) => {
      connection++;
      // Connections 1 and 2 die without delivering; 3 delivers seq 1 then dies; 4 finishes.
      if (connection === 3) serverConnection.send(event(1));
      if (connection === 4) {
        for (let seq = serverConnection.subscription.fromSeq; seq <= 10; seq++)
          serverConnection.send(event(seq));
        return;
      }
      serverConnection.terminate();
    });
    const harness = createStream(server, {
      reconnect: { maxAttempts: 2, initialDelay: 1000, maxDelay: 60_000, backoffMultiplier: 10, jitter: 0 },
    });
    await harness.stream.connect();
    await vi.advanceTimersByTimeAsync(1000);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(harness.delivered).toEqual([1]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(harness.reconnects.map((each) => each.attempt)).toEqual([1, 2, 1]);
    expect(harness.delivered).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(harness.errors).toEqual([]);
  });

  it('drops duplicates', async () => {
    const server = createInMemoryEventServer((connection) => {
      for (const seq of [1, 2, 2, 1, 3, 3, 4]) connection.send(event(seq));
    });
    const harness = createStream(server);
    await harness.stream.connect();
    await settle();
    expect(harness.delivered).toEqual([1, 2, 3, 4]);
    expect(server.connections).toBe(1);
  });

  it('on a gap, delivers nothing out of order and resubscribes from the missing seq', async () => {
    let connection = 0;
    const server = createInMemoryEventServer((serverConnection) => {
      connection++;
      const seqs = connection === 1 ? [1, 2, 5, 6] : [3, 4, 5, 6, 7, 8, 9, 10];
      for (const seq of seqs) serverConnection.send(event(seq));
    });
    const harness = createStream(server);
    await harness.stream.connect();
    await settle();
    expect(harness.delivered).toEqual([1, 2]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(harness.reconnects).toEqual([{ attempt: 1, code: 'PROTOCOL_ERROR' }]);
    expect(server.subscriptions.map((subscription) => subscription.fromSeq)).toEqual([1, 3]);
    expect(harness.delivered).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('treats a frame without seq as a broken connection and resubscribes', async () => {
    let connection = 0;
    const server = createInMemoryEventServer((serverConnection) => {
      connection++;
      if (connection === 1) {
        serverConnection.send(event(1));
        serverConnection.send({ hello: 'no seq' });
        return;
      }
      for (let seq = 2; seq <= 10; seq++) serverConnection.send(event(seq));
    });
    const harness = createStream(server);
    await harness.stream.connect();
    await vi.advanceTimersByTimeAsync(1000);
    expect(harness.reconnects).toEqual([{ attempt: 1, code: 'PROTOCOL_ERROR' }]);
    expect(harness.delivered).toHaveLength(10);
  });

  it('replaces a connection that stays silent for heartbeatTimeout, and not one that keeps talking', async () => {
    let connection = 0;
    let firstConnection: { send(message: unknown): void } | undefined;
    const server = createInMemoryEventServer((serverConnection) => {
      connection++;
      if (connection === 1) firstConnection = serverConnection;
      else
        for (let seq = serverConnection.subscription.fromSeq; seq <= 10; seq++)
          serverConnection.send(event(seq));
    });
    const harness = createStream(server, { heartbeatTimeout: 1000 });
    await harness.stream.connect();
    for (let seq = 1; seq <= 5; seq++) {
      firstConnection?.send(event(seq));
      await vi.advanceTimersByTimeAsync(900);
    }
    expect(server.connections).toBe(1);
    expect(harness.delivered).toEqual([1, 2, 3, 4, 5]);
    await vi.advanceTimersByTimeAsync(100);
    expect(harness.stream.state).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(1000);
    expect(harness.reconnects).toEqual([{ attempt: 1, code: 'HEARTBEAT_TIMEOUT' }]);
    expect(server.subscriptions.map((subscription) => subscription.fromSeq)).toEqual([1, 6]);
    expect(harness.delivered).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('stops for good on a non-retryable stream_error and reports it', async () => {
    const server = createInMemoryEventServer((connection) => {
      connection.send({ type: 'stream_error', code: 'SESSION_NOT_FOUND', message: 'No session ses_unit' });
    });
    const harness = createStream(server);
    await harness.stream.connect();
    await settle();
    expect(harness.errors).toHaveLength(1);
    expect(harness.errors[0]).toMatchObject({ code: 'SESSION_NOT_FOUND', message: 'No session ses_unit' });
    expect(harness.closes).toEqual([harness.errors[0]]);
    expect(harness.stream.state).toBe('closed');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(server.connections).toBe(1);
  });

  it('reconnects after a retryable stream_error', async () => {
    let connection = 0;
    const server = createInMemoryEventServer((serverConnection) => {
      connection++;
      if (connection === 1) {
        serverConnection.send({ type: 'stream_error', code: 'SHUTTING_DOWN', message: 'restarting' });
        return;
      }
      for (const each of EVENTS) serverConnection.send(each);
    });
    const harness = createStream(server);
    await harness.stream.connect();
    await vi.advanceTimersByTimeAsync(1000);
    expect(harness.reconnects).toEqual([{ attempt: 1, code: 'SHUTTING_DOWN' }]);
    expect(harness.delivered).toHaveLength(10);
    expect(harness.errors).toEqual([]);
  });

  it('buffers messages sent while disconnected and sends them after the next subscribe', async () => {
    const server = createInMemoryEventServer();
    const harness = createStream(server);
    const firstSubscription = server.nextSubscription();
    const early = harness.stream.send({ n: 0 });
    await harness.stream.connect();
    await early;
    await settle();
    expect(server.received).toEqual([{ n: 0 }]);
    (await firstSubscription).terminate();
    await settle();
    expect(harness.stream.state).toBe('reconnecting');
    const sent = [harness.stream.send({ n: 1 }), harness.stream.send({ n: 2 })];
    await settle();
    expect(server.received).toEqual([{ n: 0 }]);
    await vi.advanceTimersByTimeAsync(1000);
    await Promise.all(sent);
    expect(server.subscriptions).toHaveLength(2);
    expect(server.received).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
    await harness.stream.send({ n: 3 });
    await settle();
    expect(server.received).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it('rejects a message JSON cannot carry without blocking the ones after it', async () => {
    const server = createInMemoryEventServer();
    const harness = createStream(server);
    await harness.stream.connect();
    const bad = harness.stream.send({ value: 1n });
    const good = harness.stream.send({ value: 1 });
    await expect(bad).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await good;
    await settle();
    expect(server.received).toEqual([{ value: 1 }]);
  });

  it('close() stops reconnecting, rejects buffered sends and later calls, and fires onClose once', async () => {
    const server = createInMemoryEventServer((connection) => connection.terminate());
    const harness = createStream(server);
    await harness.stream.connect();
    await settle();
    const buffered = harness.stream.send({ never: 'sent' });
    await harness.stream.close();
    await harness.stream.close();
    await expect(buffered).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(server.connections).toBe(1);
    expect(harness.closes).toEqual([undefined]);
    expect(harness.errors).toEqual([]);
    await expect(harness.stream.send({})).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    await expect(harness.stream.connect()).resolves.toBeUndefined();
  });

  it('close() before the first connection opened rejects connect() with CONNECTION_CLOSED', async () => {
    const server = createInMemoryEventServer();
    server.refuseConnections = true;
    const harness = createStream(server);
    const connected = harness.stream.connect();
    await settle();
    await harness.stream.close();
    await expect(connected).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    const fresh = createStream(server);
    await fresh.stream.close();
    await expect(fresh.stream.connect()).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
  });

  it('connect() twice returns the same promise and opens one connection', async () => {
    const server = createInMemoryEventServer();
    const harness = createStream(server);
    const first = harness.stream.connect();
    expect(harness.stream.connect()).toBe(first);
    await first;
    expect(server.connections).toBe(1);
  });

  it('reports what onMessage throws and keeps delivering', async () => {
    const server = createInMemoryEventServer((connection) => {
      for (const each of EVENTS) connection.send(each);
    });
    const delivered: number[] = [];
    const harness = createStream(server, {
      onMessage: (message) => {
        delivered.push(message.seq);
        if (message.seq === 2) throw new Error('consumer bug');
      },
    });
    await harness.stream.connect();
    await settle();
    expect(delivered).toHaveLength(10);
    expect(harness.errors.map((error) => error.message)).toEqual(['consumer bug']);
    expect(server.connections).toBe(1);
  });

  it('stops when onMessage closes the stream', async () => {
    const server = createInMemoryEventServer((connection) => {
      for (const each of EVENTS) connection.send(each);
    });
    const delivered: number[] = [];
    const harness: { stream?: ReconnectingStream<StreamEvent> } = {};
    harness.stream = createStream(server, {
      onMessage: (message) => {
        delivered.push(message.seq);
        if (message.seq === 3) void harness.stream?.close();
      },
    }).stream;
    await harness.stream.connect();
    await settle();
    expect(delivered).toEqual([1, 2, 3]);
  });

  it('rejects invalid options with CONFIGURATION_ERROR', () => {
    const server = createInMemoryEventServer();
    const base = {
      url: 'memory://events',
      sessionId: SESSION,
      createTransport: () => server.createTransport(),
    };
    const invalid = expect.objectContaining({ code: 'CONFIGURATION_ERROR' });
    expect(() => new ReconnectingStream({ ...base, sessionId: 'has spaces' })).toThrow(invalid);
    expect(() => new ReconnectingStream({ ...base, fromSeq: 0 })).toThrow(invalid);
    expect(() => new ReconnectingStream({ ...base, url: '' })).toThrow(invalid);
    expect(() => new ReconnectingStream({ ...base, heartbeatTimeout: -1 })).toThrow(invalid);
    expect(() => new ReconnectingStream({ ...base, reconnect: { maxAttempts: -1 } })).toThrow(invalid);
    expect(() => new ReconnectingStream({ ...base, reconnect: { maxAttempts: 1.5 } })).toThrow(invalid);
    expect(() => new ReconnectingStream({ ...base, reconnect: { backoffMultiplier: 0 } })).toThrow(invalid);
    expect(
      () => new ReconnectingStream({ ...base, reconnect: { maxAttempts: Number.POSITIVE_INFINITY } }),
    ).not.toThrow();
  });

  it('tells Node 20 users to install ws when there is no global WebSocket and this build cannot load it', () => {
    // Node 22 and later have a global WebSocket: it is taken away for this test, as on Node 20.
    const global = Object.getOwnPropertyDescriptor(globalThis, 'WebSocket');
    Reflect.deleteProperty(globalThis, 'WebSocket');
    try {
      expect('WebSocket' in globalThis).toBe(false);
      expect(() => new ReconnectingStream({ url: 'ws://127.0.0.1:1', sessionId: SESSION })).toThrow(
        expect.objectContaining({
          code: 'CONFIGURATION_ERROR',
          message: expect.stringContaining('WebSocket'),
        }),
      );
    } finally {
      if (global !== undefined) Object.defineProperty(globalThis, 'WebSocket', global);
    }
  });
});
