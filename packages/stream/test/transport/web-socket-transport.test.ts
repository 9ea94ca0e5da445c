import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { WebSocketTransport } from '../../src/transport/web-socket-transport.js';

const servers: WebSocketServer[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    for (const client of server.clients) client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

async function startServer(): Promise<{ server: WebSocketServer; url: string }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  servers.push(server);
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `ws://127.0.0.1:${port}` };
}

function nextConnection(server: WebSocketServer): Promise<WebSocket> {
  return new Promise((resolve) => server.once('connection', resolve));
}

function nextMessage(transport: WebSocketTransport): Promise<unknown> {
  return new Promise((resolve) => {
    transport.onmessage = resolve;
  });
}

function nextError(transport: WebSocketTransport): Promise<Error> {
  return new Promise((resolve) => {
    transport.onerror = resolve;
  });
}

describe('WebSocketTransport', () => {
  it('sends and receives JSON text frames', async () => {
    const { server, url } = await startServer();
    server.on('connection', (socket) => {
      socket.on('message', (data, isBinary) => {
        const text = isBinary ? '' : data.toString();
        socket.send(JSON.stringify({ echo: JSON.parse(text) }));
      });
    });
    const transport = new WebSocketTransport({ url, WebSocket });
    await transport.start();
    const reply = nextMessage(transport);
    await transport.send({ type: 'subscribe', sessionId: 'ses_1', fromSeq: 1 });
    expect(await reply).toEqual({ echo: { type: 'subscribe', sessionId: 'ses_1', fromSeq: 1 } });
    await transport.close();
  });

  it('offers the given subprotocols', async () => {
    const { server, url } = await startServer();
    const connection = new Promise<string>((resolve) =>
      server.once('connection', (socket) => resolve(socket.protocol)),
    );
    const transport = new WebSocketTransport({ url, WebSocket, protocols: ['enclave.v1'] });
    await transport.start();
    expect(await connection).toBe('enclave.v1');
    await transport.close();
  });

  it('reports a frame that is not JSON with DECODE_ERROR and stays open', async () => {
    const { server, url } = await startServer();
    const connection = nextConnection(server);
    const transport = new WebSocketTransport({ url, WebSocket });
    await transport.start();
    const socket = await connection;
    const error = nextError(transport);
    socket.send('{not json');
    expect(await error).toMatchObject({ code: 'DECODE_ERROR' });
    const message = nextMessage(transport);
    socket.send('{"still":"open"}');
    expect(await message).toEqual({ still: 'open' });
    await transport.close();
  });

  it('reports a binary frame with PROTOCOL_ERROR', async () => {
    const { server, url } = await startServer();
    const connection = nextConnection(server);
    const transport = new WebSocketTransport({ url, WebSocket });
    await transport.start();
    const error = nextError(transport);
    (await connection).send(new Uint8Array([1, 2, 3]));
    expect(await error).toMatchObject({ code: 'PROTOCOL_ERROR' });
    await transport.close();
  });

  it('fires onclose once with the code when the server closes, then refuses to send', async () => {
    const { server, url } = await startServer();
    const connection = nextConnection(server);
    const transport = new WebSocketTransport({ url, WebSocket });
    let closes = 0;
    const closed = new Promise<void>((resolve) => {
      transport.onclose = () => {
        closes++;
        resolve();
      };
    });
    await transport.start();
    (await connection).close(4001, 'going away');
    await closed;
    expect(transport.closeCode).toBe(4001);
    expect(transport.closeReason).toBe('going away');
    await expect(transport.send({ late: true })).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    await transport.close();
    expect(closes).toBe(1);
  });

  it('fires onclose when the server terminates the connection without a handshake', async () => {
    const { server, url } = await startServer();
    const connection = nextConnection(server);
    const transport = new WebSocketTransport({ url, WebSocket });
    const closed = new Promise<void>((resolve) => {
      transport.onclose = resolve;
    });
    await transport.start();
    (await connection).terminate();
    await closed;
    expect(transport.closeCode).toBe(1006);
  });

  it('rejects start() with CONNECTION_CLOSED when nothing listens', async () => {
    const { server, url } = await startServer();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    servers.splice(servers.indexOf(server), 1);
    const transport = new WebSocketTransport({ url, WebSocket });
    let closes = 0;
    transport.onclose = () => closes++;
    await expect(transport.start()).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    expect(closes).toBe(1);
  });

  it('rejects start() with CONFIGURATION_ERROR for an invalid URL', async () => {
    const transport = new WebSocketTransport({ url: 'not a url', WebSocket });
    await expect(transport.start()).rejects.toMatchObject({ code: 'CONFIGURATION_ERROR' });
  });

  it('wraps a socket accepted by a server, so both ends speak through a Transport', async () => {
    const { server, url } = await startServer();
    const serverTransport = new Promise<WebSocketTransport>((resolve) => {
      server.once('connection', (socket) => resolve(new WebSocketTransport({ socket })));
    });
    const client = new WebSocketTransport({ url, WebSocket });
    await client.start();
    const serverSide = await serverTransport;
    const received = nextMessage(serverSide);
    await serverSide.start();
    await client.send({ hello: 'server' });
    expect(await received).toEqual({ hello: 'server' });
    const reply = nextMessage(client);
    await serverSide.send({ hello: 'client' });
    expect(await reply).toEqual({ hello: 'client' });
    const clientClosed = new Promise<void>((resolve) => {
      client.onclose = resolve;
    });
    await serverSide.close();
    await clientClosed;
    expect(client.closeCode).toBe(1000);
  });

  it('close() before start() settles without opening a socket', async () => {
    const { server, url } = await startServer();
    let connections = 0;
    server.on('connection', () => connections++);
    const transport = new WebSocketTransport({ url, WebSocket });
    let closes = 0;
    transport.onclose = () => closes++;
    await transport.close();
    await expect(transport.start()).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    expect(closes).toBe(1);
    expect(connections).toBe(0);
  });
});
