import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/**
 * Makes the app's `close()` end the connections that never carried a request. Node's
 * `closeIdleConnections` (which fastify calls on close) leaves such a connection open, and
 * `server.close` then waits for it until the client gives it up. Clients open them routinely: a
 * `fetch` whose body was cancelled (a client that stops reading a stream) leaves a spare one in its
 * pool. Connections that did carry a request — HTTP or a WebSocket upgrade — are left to fastify
 * and the broker's own stream shutdown.
 */
export function closeUnusedConnectionsOnClose(app: FastifyInstance): void {
  const unused = new Set<Socket>();
  const markUsed = (request: { socket: Socket }): void => {
    unused.delete(request.socket);
  };
  app.server.on('connection', (socket: Socket) => {
    unused.add(socket);
    socket.once('close', () => unused.delete(socket));
  });
  app.server.on('request', markUsed);
  app.server.on('upgrade', markUsed);
  app.addHook('preClose', async () => {
    for (const socket of unused) socket.destroy();
    unused.clear();
  });
}
