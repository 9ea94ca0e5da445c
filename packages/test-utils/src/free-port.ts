import { createServer } from 'node:net';

/** Ports this process has handed out: never handed out twice, even if the system offers one again. */
const handedOut = new Set<number>();

/**
 * A loopback TCP port that was free a moment ago, for servers that must be told their port before
 * they start (a redis-server, a runtime worker started as a process). Never the same port twice in
 * one process, so that two servers a test starts side by side do not collide. Servers that can
 * listen on port 0 should do that instead.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (address === null || typeof address === 'string') throw new Error('The server has no port');
    if (!handedOut.has(address.port)) {
      handedOut.add(address.port);
      return address.port;
    }
  }
}
