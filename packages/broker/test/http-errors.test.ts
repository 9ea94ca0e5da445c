import { Agent, request as httpRequest } from 'node:http';
import { seededRandom } from '@enclave-vm/test-utils';
import { ERROR_CODES, ErrorResponseSchema } from '@enclave-vm/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, postJson, readAllEvents, startTestBroker, type TestBroker } from './http-test-helpers.js';

const BODY_LIMIT = 16_384;

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with any method, headers and body (fetch refuses some of these). */
function send(
  url: string,
  options: {
    method: string;
    path: string;
    headers: Record<string, string>;
    body?: Buffer | string;
    agent: Agent;
  },
): Promise<RawResponse> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: options.method,
        path: options.path,
        headers: options.headers,
        agent: options.agent,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        response.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

describe('error answers', () => {
  let server: TestBroker;
  beforeAll(async () => {
    server = await startTestBroker({ bodyLimit: BODY_LIMIT });
  });
  afterAll(async () => {
    await server.close();
  });

  it('maps each kind of bad input to its code and status', async () => {
    const execute = `${server.url}/execute`;
    const json = { 'content-type': 'application/json' };
    const cases: Array<[string, Promise<Response>, number, string]> = [
      [
        'malformed JSON',
        fetch(execute, { method: 'POST', headers: json, body: '{"code": ' }),
        400,
        'BAD_REQUEST',
      ],
      ['empty JSON body', fetch(execute, { method: 'POST', headers: json, body: '' }), 400, 'BAD_REQUEST'],
      ['wrong type', postJson(execute, { code: 5 }), 400, 'VALIDATION_ERROR'],
      ['extra field', postJson(execute, { code: 'return 1', shell: true }), 400, 'VALIDATION_ERROR'],
      ['empty code', postJson(execute, { code: '' }), 400, 'VALIDATION_ERROR'],
      [
        'bad filter',
        postJson(execute, { code: 'return 1', filter: { types: ['gossip'] } }),
        400,
        'VALIDATION_ERROR',
      ],
      ['no body', fetch(execute, { method: 'POST' }), 400, 'VALIDATION_ERROR'],
      ['text body', fetch(execute, { method: 'POST', body: 'return 1' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [
        'form body',
        fetch(execute, { method: 'POST', body: new URLSearchParams({ code: 'x' }) }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      ['huge body', postJson(execute, { code: 'x'.repeat(BODY_LIMIT) }), 413, 'PAYLOAD_TOO_LARGE'],
      ['unknown route', fetch(`${server.url}/nope`), 404, 'NOT_FOUND'],
      ['unknown nested route', fetch(`${server.url}/sessions/a/b/c`), 404, 'NOT_FOUND'],
      ['wrong method', fetch(execute), 405, 'METHOD_NOT_ALLOWED'],
      [
        'wrong method with body',
        fetch(execute, { method: 'PUT', headers: json, body: '{' }),
        405,
        'METHOD_NOT_ALLOWED',
      ],
      ['plain GET on the WebSocket', fetch(`${server.url}/sessions/stream`), 400, 'BAD_REQUEST'],
      ['malformed URL encoding', fetch(`${server.url}/sessions/%E0%A4%A`), 400, 'BAD_REQUEST'],
    ];
    for (const [name, pending, status, code] of cases) {
      const response = await pending;
      const body = ErrorResponseSchema.parse(await response.json());
      expect({ name, status: response.status, code: body.error.code }).toEqual({ name, status, code });
      expect(body.error.retryable).toBe(false);
    }
  });

  it('says what is wrong in a validation error', async () => {
    const { message } = await errorOf(await postJson(`${server.url}/execute`, { code: 5, timeout: 'soon' }));
    expect(message).toContain('code');
    expect(message).toContain('timeout');
  });

  it('names the allowed methods on 405', async () => {
    const response = await fetch(`${server.url}/sessions/ses_1`, { method: 'PATCH' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, DELETE, HEAD');
  });

  it('answers bytes that are not HTTP with the error body, and keeps serving', async () => {
    const { connect } = await import('node:net');
    const port = Number(new URL(server.url).port);
    for (const garbage of [
      'GARBAGE\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
      `GET /${'a'.repeat(20_000)} HTTP/1.1\r\n\r\n`,
    ]) {
      const socket = connect(port, '127.0.0.1');
      socket.end(garbage);
      const chunks: Buffer[] = [];
      for await (const chunk of socket) chunks.push(chunk as Buffer);
      const [head, body] = Buffer.concat(chunks).toString().split('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 4\d\d /);
      expect(Object.keys(ERROR_CODES)).toContain(
        ErrorResponseSchema.parse(JSON.parse(body ?? '')).error.code,
      );
    }
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  it('cancels with DELETE whatever body and content type the client sends along', async () => {
    const response = await postJson(`${server.url}/execute`, { code: 'return 1' });
    const sessionId = response.headers.get('x-session-id') ?? '';
    await readAllEvents(response);
    for (const init of [
      { headers: { 'content-type': 'application/json' } },
      { headers: { 'content-type': 'application/json' }, body: '{}' },
      { headers: { 'content-type': 'text/plain' }, body: 'please' },
    ]) {
      const answer = await fetch(`${server.url}/sessions/${sessionId}`, { method: 'DELETE', ...init });
      expect(answer.status).toBe(200);
    }
  });

  it('survives 1,000 seeded random malformed requests without a 5xx, then still serves', async () => {
    const random = seededRandom(20_240_611);
    const pick = <Value>(values: readonly Value[]): Value =>
      values[Math.floor(random() * values.length)] as Value;
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
    const randomText = (length: number) =>
      Array.from({ length }, () => String.fromCharCode(Math.floor(random() * 0x2fff) + 1)).join('');
    const ids = () =>
      pick([
        'ses_missing',
        'x'.repeat(Math.floor(random() * 300)),
        encodeURIComponent(randomText(8)),
        '%zz',
        '..',
        '%00',
        String(Math.floor(random() * 1e9)),
      ]);
    const paths = () =>
      pick([
        '/execute',
        `/sessions/${ids()}`,
        `/sessions/${ids()}/tool-result`,
        `/sessions/${ids()}/events?fromSeq=${pick(['0', '-1', 'abc', '1e99', '', '1&x=1'])}`,
        '/sessions/stream',
        '/code/actions',
        `/${encodeURIComponent(randomText(5))}`,
        `/execute?q=${encodeURIComponent(randomText(3))}`,
        '/health/../execute',
        `/${'a/'.repeat(Math.floor(random() * 50))}`,
      ]);
    const bodies = (): string | Buffer | undefined =>
      pick([
        undefined,
        '',
        '{',
        'null',
        '[]',
        '"code"',
        JSON.stringify({ code: Math.floor(random() * 100) }),
        JSON.stringify({ code: ['return 1'] }),
        JSON.stringify({ code: 'return 1', unknownField: randomText(4) }),
        JSON.stringify({ code: 'return 1', timeout: -5 }),
        JSON.stringify({ code: 'return 1', filter: { types: 'stdout' } }),
        JSON.stringify({ callId: randomText(3), result: 1 }),
        JSON.stringify({ callId: 'call_1', error: { message: 5 } }),
        '{"__proto__": {"polluted": true}, "code": "return 1"}',
        '{"constructor": {"prototype": {"polluted": true}}}',
        `${'['.repeat(5000)}${']'.repeat(5000)}`,
        `{"code": "${'y'.repeat(BODY_LIMIT * 2)}"}`,
        Buffer.from(Array.from({ length: 64 }, () => Math.floor(random() * 256))),
        randomText(40),
      ]);
    const contentTypes = () =>
      pick([
        undefined,
        'application/json',
        'application/json; charset=utf-8',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/json; charset=utf-16',
        '',
        ';;;',
        'application/jsonx',
      ]);
    const statuses = new Map<number, number>();
    try {
      for (let index = 0; index < 1000; index++) {
        const method = pick(methods);
        const body = method === 'GET' || method === 'HEAD' ? pick([undefined, bodies()]) : bodies();
        const headers: Record<string, string> = {};
        const contentType = contentTypes();
        if (contentType !== undefined && body !== undefined) headers['content-type'] = contentType;
        if (random() < 0.2) headers.authorization = `Bearer ${randomText(10).replace(/[^\x20-\x7e]/g, 'a')}`;
        if (random() < 0.1) headers['x-api-key'] = 'k'.repeat(Math.floor(random() * 9000));
        if (random() < 0.1) headers.accept = pick(['application/x-ndjson', '*/*', 'text/html']);
        // Node's client sends some methods' bodies without a length; say it, so the bytes reach the app.
        if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
        const response = await send(server.url, { method, path: paths(), headers, body, agent });
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        expect(response.status, `request ${index}: ${method}`).toBeLessThan(500);
        if (response.status >= 400 && method !== 'HEAD') {
          const parsed = ErrorResponseSchema.parse(JSON.parse(response.body));
          expect(Object.keys(ERROR_CODES)).toContain(parsed.error.code);
        }
      }
    } finally {
      agent.destroy();
    }
    // The run covered more than one kind of refusal.
    expect(statuses.size).toBeGreaterThanOrEqual(5);
    expect(Object.prototype).not.toHaveProperty('polluted');

    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    const events = await readAllEvents(await postJson(`${server.url}/execute`, { code: 'return 1 + 2' }));
    expect(events.at(-1)).toMatchObject({ type: 'final', payload: { ok: true, result: 3 } });
  });
});
