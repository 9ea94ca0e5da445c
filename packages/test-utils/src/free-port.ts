import { createServer } from 'node:net';

/**
 * A loopback TCP port that was free a moment ago, for servers that must be told their port before
 * they start (a redis-server, a runtime worker started as a process). Servers that can listen on
 * port 0 should do that instead.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('The server has no port');
  return address.port;
}
