// Real MCP servers for the tests (not a test file itself): the demo server of fixtures/mcp over
// stdio (a child process the broker starts) and over Streamable HTTP (on a loopback port).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { createDemoServer, DemoState } from './fixtures/mcp/demo-mcp-server.mjs';

/** The stdio server's script: `node <STDIO_SERVER> [--exit-unless <file>]`. */
export const STDIO_SERVER = fileURLToPath(new URL('./fixtures/mcp/stdio-server.mjs', import.meta.url));

/** `mcpServers` entry of the stdio demo server. */
export function stdioServer(
  name: string,
  options: { args?: string[]; env?: Record<string, string>; timeout?: number } = {},
) {
  return {
    name,
    command: process.execPath,
    args: [STDIO_SERVER, ...(options.args ?? [])],
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
  };
}

/** The demo server over Streamable HTTP, stopped by `await using`. */
export interface HttpMcpServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>/mcp` */
  readonly url: string;
  readonly port: number;
  /** The state every session of the server shares. */
  readonly state: DemoState;
  /** Every request's headers, in order. */
  readonly requests: IncomingMessage['headers'][];
  /** Stops answering: closes every connection and the port (sessions are forgotten). */
  stop(): Promise<void>;
  /** Listens again on the same port, with no sessions (as a restarted server would). */
  start(): Promise<void>;
}

/**
 * Starts the demo server over Streamable HTTP on 127.0.0.1 (`port` 0 picks one), one MCP session per
 * `initialize`, as the SDK's examples do.
 */
export async function startHttpMcpServer(port = 0): Promise<HttpMcpServer> {
  const state = new DemoState();
  const requests: IncomingMessage['headers'][] = [];
  let transports = new Map<string, StreamableHTTPServerTransport>();
  let server: Server | undefined;
  let boundPort = port;

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    requests.push(request.headers);
    const body = request.method === 'POST' ? await readJson(request) : undefined;
    const sessionId = request.headers['mcp-session-id'];
    let transport = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
    if (transport === undefined) {
      if (sessionId !== undefined || !isInitializeRequest(body)) {
        response.writeHead(404, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            jsonrpc: '2.0',
            error: { code: -32001, message: 'Session not found' },
            id: null,
          }),
        );
        return;
      }
      const sessions = transports;
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, created);
        },
      });
      created.onclose = () => {
        if (created.sessionId !== undefined) sessions.delete(created.sessionId);
      };
      await createDemoServer(state).connect(created);
      transport = created;
    }
    await transport.handleRequest(request, response, body);
  };

  const start = async (): Promise<void> => {
    transports = new Map();
    const listening = createServer((request, response) => {
      handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) response.writeHead(500).end(String(error));
      });
    });
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject);
      listening.listen(boundPort, '127.0.0.1', () => resolve());
    });
    server = listening;
    boundPort = (listening.address() as AddressInfo).port;
  };

  const stop = async (): Promise<void> => {
    const stopping = server;
    server = undefined;
    if (stopping === undefined) return;
    const sessions = [...transports.values()];
    transports = new Map();
    stopping.closeAllConnections();
    await new Promise<void>((resolve) => stopping.close(() => resolve()));
    for (const transport of sessions) await transport.close().catch(() => undefined);
  };

  await start();
  return {
    get url() {
      return `http://127.0.0.1:${boundPort}/mcp`;
    },
    get port() {
      return boundPort;
    },
    state,
    requests,
    stop,
    start,
    [Symbol.asyncDispose]: stop,
  };
}

/** A loopback port nothing listens on (bound, then released). */
export async function unusedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : JSON.parse(text);
}
