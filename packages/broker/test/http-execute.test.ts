import { SessionInfoSchema, type StreamEvent } from '@enclave-vm/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

/** Event types without heartbeats, which may fall anywhere in a stream. */
function typesOf(events: readonly StreamEvent[]): string[] {
  return events.filter((event) => event.type !== 'heartbeat').map((event) => event.type);
}

const ASK_USER = `
  console.log('waiting for the user');
  const answer = await tools.askUser({ question: 'name?' });
  console.log('got ' + answer.name);
  return answer.name.toUpperCase();
`;

describe('POST /execute', () => {
  let server: TestBroker;
  beforeAll(async () => {
    server = await startTestBroker();
  });
  afterAll(async () => {
    await server.close();
  });

  it('streams the events of `return 1 + 2` as NDJSON, with the session id in a header', async () => {
    const response = await postJson(`${server.url}/execute`, { code: 'return 1 + 2' });

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const sessionId = response.headers.get('x-session-id');
    expect(sessionId).toMatch(/^[A-Za-z0-9_-]+$/);
    const events = await readAllEvents(response);
    expect(events[0]).toMatchObject({ type: 'session_init', seq: 1, sessionId });
    expect(events.at(-1)).toMatchObject({ type: 'final', payload: { ok: true, result: 3 } });
    expect(seqsOf(events)).toEqual(range(1, events.length));
  });

  it('delivers each event while the code still runs, and completes a client tool round trip', async () => {
    const response = await postJson(`${server.url}/execute`, { code: ASK_USER });
    const sessionId = response.headers.get('x-session-id') ?? '';
    const reader = new EventReader(response);

    // The code is blocked on the client's tool, yet these already arrived.
    expect(await reader.next()).toMatchObject({ type: 'session_init', seq: 1 });
    expect(await reader.next()).toMatchObject({
      type: 'stdout',
      payload: { chunk: 'waiting for the user\n' },
    });
    const call = await reader.next();
    expect(call).toMatchObject({
      type: 'tool_call',
      payload: { toolName: 'askUser', args: { question: 'name?' }, answeredBy: 'client' },
    });
    const callId = call.type === 'tool_call' ? call.payload.callId : '';
    const info = SessionInfoSchema.parse(await (await fetch(`${server.url}/sessions/${sessionId}`)).json());
    expect(info).toMatchObject({ id: sessionId, status: 'running', pendingToolCalls: [callId] });

    const answer = await postJson(`${server.url}/sessions/${sessionId}/tool-result`, {
      callId,
      result: { name: 'ada' },
    });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ success: true });

    const rest = await reader.rest();
    expect(typesOf(rest)).toEqual(['tool_result_applied', 'stdout', 'final']);
    expect(rest.at(-1)).toMatchObject({ type: 'final', payload: { ok: true, result: 'ADA' } });
    expect(seqsOf(rest)).toEqual(range(4, 3 + rest.length));
  });

  it('hands a client tool error to the code', async () => {
    const response = await postJson(`${server.url}/execute`, {
      code: `try { await tools.deleteEverything({}); return 'ran'; } catch (error) { return 'refused: ' + error.message; }`,
    });
    const sessionId = response.headers.get('x-session-id') ?? '';
    const reader = new EventReader(response);
    await reader.next();
    const call = await reader.next();
    const callId = call.type === 'tool_call' ? call.payload.callId : '';

    const answer = await postJson(`${server.url}/sessions/${sessionId}/tool-result`, {
      callId,
      error: { message: 'the user said no', code: 'TOOL_ERROR' },
    });
    expect(answer.status).toBe(200);

    const rest = await reader.rest();
    expect(rest.find((event) => event.type === 'tool_result_applied')).toMatchObject({
      payload: { callId, ok: false },
    });
    expect(rest.at(-1)).toMatchObject({ type: 'final', payload: { ok: true } });
    const final = rest.at(-1);
    expect(final?.type === 'final' ? final.payload.result : undefined).toContain('the user said no');
  });

  it('applies `filter.types` and `filter.blockedTypes`, always keeping session_init and final', async () => {
    const code = `console.log('out'); console.warn('careful'); return 7`;

    const onlyLogs = await readAllEvents(
      await postJson(`${server.url}/execute`, { code, filter: { types: ['log'] } }),
    );
    expect(typesOf(onlyLogs)).toEqual(['session_init', 'log', 'final']);
    expect(onlyLogs[1]).toMatchObject({ payload: { level: 'warn', message: 'careful' } });

    const noStdout = await readAllEvents(
      await postJson(`${server.url}/execute`, { code, filter: { blockedTypes: ['stdout', 'final'] } }),
    );
    expect(typesOf(noStdout)).toEqual(['session_init', 'log', 'final']);
    expect(noStdout.at(-1)).toMatchObject({ payload: { ok: true, result: 7 } });
  });

  it('keeps running a session whose client disconnected; its events can be replayed afterwards', async () => {
    const response = await postJson(`${server.url}/execute`, { code: ASK_USER });
    const sessionId = response.headers.get('x-session-id') ?? '';
    const reader = new EventReader(response);
    await reader.next();
    await reader.next();
    const call = await reader.next();
    const callId = call.type === 'tool_call' ? call.payload.callId : '';
    await reader.cancel();

    const answer = await postJson(`${server.url}/sessions/${sessionId}/tool-result`, {
      callId,
      result: { name: 'grace' },
    });
    expect(answer.status).toBe(200);
    const events = await readAllEvents(await fetch(`${server.url}/sessions/${sessionId}/events`));
    expect(seqsOf(events)).toEqual(range(1, events.length));
    expect(events.at(-1)).toMatchObject({ type: 'final', payload: { ok: true, result: 'GRACE' } });
    const info = SessionInfoSchema.parse(await (await fetch(`${server.url}/sessions/${sessionId}`)).json());
    expect(info.status).toBe('completed');
  });

  it('refuses tool results for unknown calls, second answers and ended sessions', async () => {
    const response = await postJson(`${server.url}/execute`, { code: ASK_USER });
    const sessionId = response.headers.get('x-session-id') ?? '';
    const reader = new EventReader(response);
    await reader.next();
    await reader.next();
    const call = await reader.next();
    const callId = call.type === 'tool_call' ? call.payload.callId : '';
    const toolResult = (body: unknown, id = sessionId) =>
      postJson(`${server.url}/sessions/${id}/tool-result`, body);

    expect(await errorOf(await toolResult({ callId: 'no_such_call', result: 1 }))).toMatchObject({
      status: 404,
      code: 'TOOL_CALL_NOT_FOUND',
    });
    expect(await errorOf(await toolResult({ callId, result: 1 }, 'no_such_session'))).toMatchObject({
      status: 404,
      code: 'SESSION_NOT_FOUND',
    });
    expect(await errorOf(await toolResult({ callId: 42 }))).toMatchObject({
      status: 400,
      code: 'VALIDATION_ERROR',
    });
    expect((await toolResult({ callId, result: { name: 'ada' } })).status).toBe(200);
    const second = await errorOf(await toolResult({ callId, result: { name: 'eve' } }));
    expect([
      { status: 409, code: 'TOOL_CALL_ALREADY_ANSWERED' },
      { status: 409, code: 'SESSION_ENDED' },
    ]).toContainEqual({ status: second.status, code: second.code });
    await reader.rest();
    expect(await errorOf(await toolResult({ callId, result: { name: 'eve' } }))).toMatchObject({
      status: 409,
      code: 'SESSION_ENDED',
    });
  });
});

describe('POST /execute under maxConcurrentSessions', () => {
  it('answers 429 SESSION_LIMIT_REACHED while the cap is taken, and accepts again once a slot frees', async () => {
    await using server = await startTestBroker({ maxConcurrentSessions: 1 });
    const first = await postJson(`${server.url}/execute`, { code: ASK_USER });
    const sessionId = first.headers.get('x-session-id') ?? '';
    const reader = new EventReader(first);
    await reader.next();

    const refused = await postJson(`${server.url}/execute`, { code: 'return 1' });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await errorOf(refused)).toMatchObject({ code: 'SESSION_LIMIT_REACHED' });

    expect((await fetch(`${server.url}/sessions/${sessionId}`, { method: 'DELETE' })).status).toBe(200);
    await reader.rest();
    const accepted = await readAllEvents(await postJson(`${server.url}/execute`, { code: 'return 1' }));
    expect(accepted.at(-1)).toMatchObject({ type: 'final', payload: { ok: true, result: 1 } });
  });
});
