/**
 * The stream document's `ReconnectingStream` example, as written (no `WebSocket` option), against a
 * real `ws` server, on the package's Node builds (run `pnpm build` first). Node 22+ has a global
 * `WebSocket`; Node 20 has none, and the builds then use the `ws` package, an optional peer.
 */
import { createRequire } from 'node:module';
import type { WireEvent } from '@enclave-vm/types';
import { afterEach, describe, expect, it } from 'vitest';
import {
  makeSessionEvents,
  startTestEventServer,
  type TestEventServer,
} from './reconnect/test-event-server.js';

type StreamModule = typeof import('../src/index.js');

const builds: Array<[string, StreamModule]> = [
  ['ESM', (await import('../dist/index.node.js' as string)) as StreamModule],
  ['CommonJS', createRequire(import.meta.url)('../dist/index.node.cjs') as StreamModule],
];

let server: TestEventServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe.each(builds)('ReconnectingStream without a WebSocket option (%s Node build)', (_name, build) => {
  it('follows a session to final through a dropped connection', async () => {
    const events = makeSessionEvents('session_123', 20);
    let connections = 0;
    server = await startTestEventServer((connection) => {
      connections++;
      const from = connection.subscription.fromSeq;
      // The first connection drops after seq 5; the next one serves the rest.
      const until = connections === 1 ? 5 : events.length;
      for (const event of events.slice(from - 1, until)) connection.send(event);
      if (connections === 1) connection.terminate();
    });
    const received: WireEvent[] = [];
    const reconnects: number[] = [];
    const ended = new Promise<void>((resolve) => {
      const stream = new build.ReconnectingStream({
        url: server!.url,
        sessionId: 'session_123',
        reconnect: { maxAttempts: 5, initialDelay: 10, maxDelay: 30000, backoffMultiplier: 2 },
        onReconnect: (attempt) => reconnects.push(attempt),
        onMessage: (message) => received.push(message),
        onClose: () => resolve(),
      });
      void stream.connect();
    });
    await ended;
    expect(received.map((event) => event.seq)).toEqual(events.map((event) => event.seq));
    expect(reconnects).toEqual([1]);
  });
});
