import {
  CancelSessionResponseSchema,
  CatalogResponseSchema,
  HealthResponseSchema,
  SessionInfoSchema,
} from '@enclave-vm/types';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogHandler, ToolRegistry } from '../src/index.js';
import {
  EventReader,
  errorOf,
  postJson,
  range,
  readAllEvents,
  seqsOf,
  startTestBroker,
  type TestBroker,
} from './http-test-helpers.js';

const TEN_LINES = `for (let line = 1; line <= 10; line++) console.log('line ' + line); return 'done';`;
const WAIT_FOR_CLIENT = `console.log('asking'); const value = await tools.confirm({}); console.log('answered'); return value;`;

describe('session routes', () => {
  let server: TestBroker;
  beforeAll(async () => {
    server = await startTestBroker();
  });
  afterAll(async () => {
    await server.close();
  });

  it('GET /sessions/:sessionId describes a finished session', async () => {
    const response = await postJson(`${server.url}/execute`, { code: TEN_LINES });
    const sessionId = response.headers.get('x-session-id') ?? '';
    const events = await readAllEvents(response);

    const info = SessionInfoSchema.parse(await (await fetch(`${server.url}/sessions/${sessionId}`)).json());
    expect(info).toMatchObject({
      id: sessionId,
      status: 'completed',
      lastSeq: events.length,
      pendingToolCalls: [],
    });
    expect(info.expiresAt).toBeGreaterThan(info.createdAt);
    expect(info.completedAt).toBeGreaterThanOrEqual(info.createdAt);
    expect(info.stats?.stdoutBytes).toBeGreaterThan(0);
  });

  it('answers 404 SESSION_NOT_FOUND for unknown and malformed session ids on every session route', async () => {
    for (const id of ['ses_unknown', 'bad$id', 'x'.repeat(129), '%20', 'a.b']) {
      const encoded = encodeURIComponent(id);
      const requests = [
        fetch(`${server.url}/sessions/${encoded}`),
        fetch(`${server.url}/sessions/${encoded}/events`),
        fetch(`${server.url}/sessions/${encoded}`, { method: 'DELETE' }),
        postJson(`${server.url}/sessions/${encoded}/tool-result`, { callId: 'call_1', result: 1 }),
      ];
      for (const response of await Promise.all(requests)) {
        expect(await errorOf(response), id).toMatchObject({ status: 404, code: 'SESSION_NOT_FOUND' });
      }
    }
  });

  it('resumes a finished session from several seqs with no event lost or repeated', async () => {
    const response = await postJson(`${server.url}/execute`, { code: TEN_LINES });
    const sessionId = response.headers.get('x-session-id') ?? '';
    const all = await readAllEvents(response);
    expect(all.length).toBeGreaterThanOrEqual(12);

    for (const fromSeq of [1, 2, 6, all.length - 1, all.length]) {
      const resumed = await readAllEvents(
        await fetch(`${server.url}/sessions/${sessionId}/events?fromSeq=${fromSeq}`),
      );
      expect(resumed, `fromSeq=${fromSeq}`).toEqual(all.slice(fromSeq - 1));
    }
    const fromStart = await readAllEvents(await fetch(`${server.url}/sessions/${sessionId}/events`));
    expect(fromStart).toEqual(all);
  });

  it('resumes a running session: replays what is logged, then follows it live until final', async () => {
    const response = await postJson(`${server.url}/execute`, { code: WAIT_FOR_CLIENT });
    const sessionId = response.headers.get('x-session-id') ?? '';
    const original = new EventReader(response);
    const seen = [await original.next(), await original.next(), await original.next()];
    const call = seen[2];
    expect(call?.type).toBe('tool_call');
    const callId = call?.type === 'tool_call' ? call.payload.callId : '';

    // One follower replays from seq 2, another starts past the newest event and waits for it.
    const replaying = new EventReader(await fetch(`${server.url}/sessions/${sessionId}/events?fromSeq=2`));
    const replayed = [await replaying.next(), await replaying.next()];
    expect(replayed).toEqual(seen.slice(1));
    const waiting = await fetch(`${server.url}/sessions/${sessionId}/events?fromSeq=4`);
    expect(waiting.status).toBe(200);

    await postJson(`${server.url}/sessions/${sessionId}/tool-result`, { callId, result: 'yes' });
    const rest = await original.rest();
    expect(rest.at(-1)).toMatchObject({ type: 'final', payload: { ok: true, result: 'yes' } });
    expect(await replaying.rest()).toEqual(rest);
    const live = await readAllEvents(waiting);
    expect(live).toEqual(rest);
    expect(seqsOf(live)).toEqual(range(4, 3 + live.length));
  });

  it('answers 410 EVENT_LOG_TRUNCATED for a seq the bounded log dropped, and serves the seqs it kept', async () => {
    await using small = await startTestBroker({ maxEventLogSize: 5 });
    const response = await postJson(`${small.url}/execute`, { code: TEN_LINES });
    const sessionId = response.headers.get('x-session-id') ?? '';
    const all = await readAllEvents(response);
    expect(seqsOf(all)).toEqual(range(1, all.length));

    const truncated = await fetch(`${small.url}/sessions/${sessionId}/events?fromSeq=1`);
    expect(await errorOf(truncated)).toMatchObject({ status: 410, code: 'EVENT_LOG_TRUNCATED' });
    const kept = await readAllEvents(
      await fetch(`${small.url}/sessions/${sessionId}/events?fromSeq=${all.length - 4}`),
    );
    expect(kept).toEqual(all.slice(-5));
  });

  it('rejects a bad fromSeq with 400 VALIDATION_ERROR', async () => {
    const response = await postJson(`${server.url}/execute`, { code: 'return 1' });
    const sessionId = response.headers.get('x-session-id') ?? '';
    await readAllEvents(response);
    for (const query of ['fromSeq=0', 'fromSeq=-3', 'fromSeq=abc', 'fromSeq=1.5', 'fromSeq=1&other=2']) {
      expect(
        await errorOf(await fetch(`${server.url}/sessions/${sessionId}/events?${query}`)),
        query,
      ).toMatchObject({
        status: 400,
        code: 'VALIDATION_ERROR',
      });
    }
  });

  it('DELETE cancels a running session: its stream ends with a failed final', async () => {
    const response = await postJson(`${server.url}/execute`, { code: WAIT_FOR_CLIENT });
    const sessionId = response.headers.get('x-session-id') ?? '';
    const reader = new EventReader(response);
    await reader.next();

    const cancelled = await fetch(`${server.url}/sessions/${sessionId}`, { method: 'DELETE' });
    expect(cancelled.status).toBe(200);
    expect(CancelSessionResponseSchema.parse(await cancelled.json())).toEqual({
      success: true,
      sessionId,
      status: 'error',
    });
    const rest = await reader.rest();
    expect(rest.at(-1)).toMatchObject({
      type: 'final',
      payload: { ok: false, error: { code: 'CANCELLED' } },
    });
    const info = SessionInfoSchema.parse(await (await fetch(`${server.url}/sessions/${sessionId}`)).json());
    expect(info).toMatchObject({ status: 'error', error: { code: 'CANCELLED' } });

    // Cancelling an ended session changes nothing and says so.
    const again = CancelSessionResponseSchema.parse(
      await (await fetch(`${server.url}/sessions/${sessionId}`, { method: 'DELETE' })).json(),
    );
    expect(again.status).toBe('error');
  });

  it('GET /health reports the session counts', async () => {
    const response = await fetch(`${server.url}/health`);
    expect(response.status).toBe(200);
    const health = HealthResponseSchema.parse(await response.json());
    expect(health.status).toBe('ok');
    expect(health.sessions.total).toBeGreaterThanOrEqual(1);
    expect(health.sessions.active).toBe(0);
  });

  it('GET /code/actions serves the empty catalog with the version of the empty source set', async () => {
    const response = await fetch(`${server.url}/code/actions`);
    expect(response.status).toBe(200);
    const catalog = CatalogResponseSchema.parse(await response.json());
    expect(catalog.actions).toEqual([]);
    expect(catalog.services).toEqual([]);
    expect(catalog.version).toMatch(/^[0-9a-f]{64}$/);
    expect(new CatalogHandler(new ToolRegistry()).getCatalog().version).toBe(catalog.version);
  });
});

describe('CatalogHandler', () => {
  it('mounts on a fastify app the way the reference shows', async () => {
    const toolRegistry = new ToolRegistry();
    const catalog = new CatalogHandler(toolRegistry, []);
    const app = Fastify();
    try {
      for (const route of catalog.getRoutes()) {
        const method = route.method.toLowerCase() as 'get';
        app[method](route.path, route.handler);
      }
      const response = await app.inject({ method: 'GET', url: '/code/actions' });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual(catalog.getCatalog());
    } finally {
      await app.close();
    }
  });
});
