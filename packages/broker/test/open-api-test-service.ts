// A real HTTP service for the catalog tests: serves an OpenAPI document (with ETag or Last-Modified
// and 304 answers) and answers operation calls with handlers the test sets. Not a test file itself.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the service received. */
export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** What a route handler answers. */
export interface TestAnswer {
  status?: number;
  headers?: Record<string, string>;
  /** A string is sent as it is; anything else as JSON. */
  body?: unknown;
}

/** Answers one operation call; `'hold'` never answers (until the caller gives up). */
export type TestRoute = (request: RecordedRequest) => TestAnswer | 'hold' | Promise<TestAnswer | 'hold'>;

/** How the document answers conditional requests. */
export type Validators = 'etag' | 'last-modified' | 'none';

/** Options of {@link startOpenApiService}. */
export interface OpenApiServiceOptions {
  /** Path the document is served at. @default '/openapi.json' */
  specPath?: string;
  /** @default 'etag' */
  validators?: Validators;
}

/** Reads a document from `test/fixtures/openapi`. */
export function readFixture(name: string): string {
  return readFileSync(new URL(`./fixtures/openapi/${name}`, import.meta.url), 'utf8');
}

/** A running service, closed by `await using`. */
export interface OpenApiTestService extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  /** The document's URL. */
  readonly specUrl: string;
  /** Requests for the document, in order. */
  readonly specRequests: RecordedRequest[];
  /** Every other request, in order. */
  readonly calls: RecordedRequest[];
  /** How many document requests got a 304. */
  notModified: number;
  /** Calls whose connection the caller closed before an answer (an aborted request). */
  aborted: RecordedRequest[];
  /**
   * Serves this document from now on (`__PORT__` becomes the service's port); a new version gets a
   * new ETag and Last-Modified.
   */
  setSpec(document: string | object, contentType?: string): void;
  /** Answers the document request with this status instead (until `setSpec` or `failSpec(undefined)`). */
  failSpec(status: number | undefined): void;
  /** Sets the handler of `METHOD /path` (exact path, without query). */
  route(method: string, path: string, handler: TestRoute): void;
  close(): Promise<void>;
}

/** Starts a service on 127.0.0.1 and port 0. */
export async function startOpenApiService(options: OpenApiServiceOptions = {}): Promise<OpenApiTestService> {
  const specPath = options.specPath ?? '/openapi.json';
  const validators = options.validators ?? 'etag';
  const routes = new Map<string, TestRoute>();
  let spec = {
    text: '{}',
    contentType: 'application/json',
    etag: '"v0"',
    lastModified: new Date(0).toUTCString(),
  };
  let version = 0;
  let failure: number | undefined;
  let port = 0;
  const held = new Set<ServerResponse>();

  const service: OpenApiTestService = {
    origin: '',
    specUrl: '',
    specRequests: [],
    calls: [],
    notModified: 0,
    aborted: [],
    setSpec(
      document,
      contentType = typeof document === 'string' && !document.trimStart().startsWith('{')
        ? 'application/yaml'
        : 'application/json',
    ) {
      version++;
      const text = (typeof document === 'string' ? document : JSON.stringify(document)).replaceAll(
        '__PORT__',
        String(port),
      );
      // One second apart: HTTP dates have a resolution of seconds.
      spec = {
        text,
        contentType,
        etag: `"v${version}"`,
        lastModified: new Date(Date.UTC(2026, 0, 1, 0, 0, version)).toUTCString(),
      };
      failure = undefined;
    },
    failSpec(status) {
      failure = status;
    },
    route(method, path, handler) {
      routes.set(`${method.toUpperCase()} ${path}`, handler);
    },
    close: () => close(),
    [Symbol.asyncDispose]: () => close(),
  };

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const recorded: RecordedRequest = {
        method: request.method ?? 'GET',
        url: request.url ?? '/',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      const path = recorded.url.split('?', 1)[0] ?? '';
      if (path === specPath && recorded.method === 'GET') {
        service.specRequests.push(recorded);
        answerSpec(recorded, response);
        return;
      }
      service.calls.push(recorded);
      const handler = routes.get(`${recorded.method} ${path}`);
      if (handler === undefined) {
        send(response, { status: 404, body: { message: `no route ${recorded.method} ${path}` } });
        return;
      }
      Promise.resolve(handler(recorded)).then(
        (answer) => {
          if (answer === 'hold') {
            held.add(response);
            response.on('close', () => {
              held.delete(response);
              if (!response.writableEnded) service.aborted.push(recorded);
            });
            return;
          }
          send(response, answer);
        },
        (error: unknown) => send(response, { status: 500, body: { message: String(error) } }),
      );
    });
  });

  function answerSpec(request: RecordedRequest, response: ServerResponse): void {
    if (failure !== undefined) {
      send(response, { status: failure, body: { message: 'document unavailable' } });
      return;
    }
    const headers: Record<string, string> = { 'content-type': spec.contentType };
    if (validators === 'etag') {
      headers.etag = spec.etag;
      if (request.headers['if-none-match'] === spec.etag) {
        service.notModified++;
        response.writeHead(304, headers).end();
        return;
      }
    }
    if (validators === 'last-modified') {
      headers['last-modified'] = spec.lastModified;
      const since = request.headers['if-modified-since'];
      if (since !== undefined && Date.parse(since) >= Date.parse(spec.lastModified)) {
        service.notModified++;
        response.writeHead(304, headers).end();
        return;
      }
    }
    response.writeHead(200, headers).end(spec.text);
  }

  async function close(): Promise<void> {
    for (const response of held) response.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  Object.assign(service, {
    origin: `http://127.0.0.1:${port}`,
    specUrl: `http://127.0.0.1:${port}${specPath}`,
  });
  return service;
}

function send(response: ServerResponse, answer: TestAnswer): void {
  const status = answer.status ?? 200;
  const headers: Record<string, string> = { ...answer.headers };
  let body = '';
  if (answer.body !== undefined) {
    if (typeof answer.body === 'string') {
      body = answer.body;
      headers['content-type'] ??= 'text/plain; charset=utf-8';
    } else {
      body = JSON.stringify(answer.body);
      headers['content-type'] ??= 'application/json';
    }
  }
  response.writeHead(status, headers).end(body);
}

/** An OpenAPI 3.0 document with `count` operations (`GET /things/{id}` style, each with a query and a body schema). */
export function documentWithOperations(count: number, options: { prefix?: string } = {}): object {
  const prefix = options.prefix ?? 'op';
  const paths: Record<string, unknown> = {};
  for (let index = 0; index < count; index++) {
    paths[`/r${index}/{id}`] = {
      post: {
        operationId: `${prefix}${index}`,
        summary: `Operation ${index}`,
        tags: [`group${index % 10}`],
        parameters: [
          { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
          { $ref: '#/components/parameters/Verbose' },
        ],
        requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } } },
        responses: {
          '200': {
            description: 'ok',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } },
          },
        },
      },
    };
  }
  return {
    openapi: '3.0.3',
    info: { title: `${count} operations`, version: '1.0.0' },
    paths,
    components: {
      parameters: { Verbose: { name: 'verbose', in: 'query', schema: { type: 'boolean' } } },
      schemas: {
        Thing: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            size: { type: 'integer', minimum: 0 },
            parts: { type: 'array', items: { $ref: '#/components/schemas/Thing' } },
          },
        },
      },
    },
  };
}
