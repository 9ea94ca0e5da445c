// Test support for the reconnect tests (not part of the package's entry): a real `ws` event server
// on a loopback port, and a matching in-memory server for fake-timer tests.
import {
  createEvent,
  type StreamEvent,
  type SubscribeMessage,
  SubscribeMessageSchema,
} from '@enclave-vm/types';
import { WebSocket, WebSocketServer } from 'ws';
import { createInMemoryTransportPair } from '../../src/transport/in-memory-transport.js';
import type { Transport } from '../../src/transport/transport.js';

/** `count` events of one session: stdout lines, a heartbeat every 50th, and `final` last. */
export function makeSessionEvents(sessionId: string, count: number): StreamEvent[] {
  const events: StreamEvent[] = [];
  for (let seq = 1; seq < count; seq++) {
    events.push(
      seq % 50 === 0
        ? createEvent(sessionId, seq, 'heartbeat', {}, 0)
        : createEvent(sessionId, seq, 'stdout', { chunk: `line ${seq}\n` }, 0),
    );
  }
  events.push(
    createEvent(
      sessionId,
      count,
      'final',
      { ok: true, result: count, stats: { durationMs: 1, cpuTimeMs: 1, toolCalls: 0, stdoutBytes: 0 } },
      0,
    ),
  );
  return events;
}

export { seededRandom } from '@enclave-vm/test-utils';

/** One subscribed connection as the server sees it. */
export interface ServerConnection {
  /** The validated subscribe message. */
  readonly subscription: SubscribeMessage;
  /** Sends one JSON frame; ignored once the connection is gone. */
  send(message: unknown): void;
  /** Drops the connection without a closing handshake. */
  terminate(): void;
  /** Closes the connection with a close code. */
  close(code: number, reason?: string): void;
  /** Whether the connection is still usable. */
  readonly open: boolean;
}

/** Decides what the server does with each subscription. */
export type SubscriptionHandler = (connection: ServerConnection) => void;

/** A running test server. */
export interface TestEventServer {
  /** Where to connect. */
  readonly url: string;
  /** Every subscribe message received, in order. */
  readonly subscriptions: SubscribeMessage[];
  /** Every other message clients sent, in order. */
  readonly received: unknown[];
  /** Resolves at the next subscription. */
  nextSubscription(): Promise<ServerConnection>;
  /** Resolves once at least `count` non-subscribe messages arrived. */
  receivedCount(count: number): Promise<unknown[]>;
  /** Stops accepting connections and drops the open ones. */
  close(): Promise<void>;
}

interface SubscriptionRegistry {
  readonly subscriptions: SubscribeMessage[];
  readonly received: unknown[];
  nextSubscription(): Promise<ServerConnection>;
  receivedCount(count: number): Promise<unknown[]>;
  accept(connection: ServerConnection): void;
  receive(message: unknown): void;
}

function createRegistry(handler: SubscriptionHandler | undefined): SubscriptionRegistry {
  const subscriptions: SubscribeMessage[] = [];
  const received: unknown[] = [];
  const waiters: Array<(connection: ServerConnection) => void> = [];
  const countWaiters: Array<{ count: number; resolve: (messages: unknown[]) => void }> = [];
  return {
    subscriptions,
    received,
    nextSubscription: () => new Promise((resolve) => waiters.push(resolve)),
    receivedCount: (count) =>
      received.length >= count
        ? Promise.resolve(received)
        : new Promise((resolve) => countWaiters.push({ count, resolve })),
    accept(connection) {
      subscriptions.push(connection.subscription);
      handler?.(connection);
      for (const resolve of waiters.splice(0)) resolve(connection);
    },
    receive(message) {
      received.push(message);
      for (const waiter of [...countWaiters]) {
        if (received.length >= waiter.count) {
          countWaiters.splice(countWaiters.indexOf(waiter), 1);
          waiter.resolve(received);
        }
      }
    },
  };
}

/** Starts a `ws` server on 127.0.0.1 and port 0 that hands each subscription to `handler`. */
export async function startTestEventServer(handler?: SubscriptionHandler): Promise<TestEventServer> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const registry = createRegistry(handler);
  server.on('connection', (socket: WebSocket) => {
    let subscribed = false;
    socket.on('message', (data, isBinary) => {
      const message: unknown = JSON.parse(isBinary ? '' : data.toString());
      if (subscribed) {
        registry.receive(message);
        return;
      }
      subscribed = true;
      registry.accept({
        subscription: SubscribeMessageSchema.parse(message),
        send: (outgoing) => {
          if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(outgoing));
        },
        terminate: () => socket.terminate(),
        close: (code, reason) => socket.close(code, reason),
        get open() {
          return socket.readyState === WebSocket.OPEN;
        },
      });
    });
  });
  return {
    url: `ws://127.0.0.1:${port}`,
    subscriptions: registry.subscriptions,
    received: registry.received,
    nextSubscription: registry.nextSubscription,
    receivedCount: registry.receivedCount,
    close: async () => {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The in-memory counterpart: pass `createTransport` to a ReconnectingStream. */
export interface InMemoryEventServer {
  /** Makes the client end of a new connection. */
  createTransport(): Transport;
  /** Number of connections made. */
  readonly connections: number;
  /** Every subscribe message received, in order. */
  readonly subscriptions: SubscribeMessage[];
  /** Every other message clients sent, in order. */
  readonly received: unknown[];
  /** Resolves at the next subscription. */
  nextSubscription(): Promise<ServerConnection>;
  /** While true, new connections fail to open. */
  refuseConnections: boolean;
}

/** An event server over in-memory transport pairs, for tests that drive time with fake timers. */
export function createInMemoryEventServer(handler?: SubscriptionHandler): InMemoryEventServer {
  const registry = createRegistry(handler);
  let connections = 0;
  const server: InMemoryEventServer = {
    refuseConnections: false,
    subscriptions: registry.subscriptions,
    received: registry.received,
    nextSubscription: registry.nextSubscription,
    get connections() {
      return connections;
    },
    createTransport() {
      connections++;
      const [client, serverEnd] = createInMemoryTransportPair();
      if (server.refuseConnections) {
        // Closed before start: the client's start() rejects, as a refused socket's would.
        void client.close();
        return client;
      }
      let open = true;
      let subscribed = false;
      serverEnd.onclose = () => {
        open = false;
      };
      serverEnd.onmessage = (message) => {
        if (subscribed) {
          registry.receive(message);
          return;
        }
        subscribed = true;
        registry.accept({
          subscription: SubscribeMessageSchema.parse(message),
          send: (outgoing) => {
            if (open) serverEnd.send(outgoing).catch(() => undefined);
          },
          terminate: () => void serverEnd.close(),
          close: () => void serverEnd.close(),
          get open() {
            return open;
          },
        });
      };
      void serverEnd.start();
      return client;
    },
  };
  return server;
}
