import { StreamErrorMessageSchema, type StreamEvent } from '@enclave-vm/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { AuthConfig, AuthResult } from '../src/index.js';
import {
  EventReader,
  errorOf,
  postJson,
  readAllEvents,
  startTestBroker,
  type TestBroker,
} from './http-test-helpers.js';

const WAIT_FOR_CLIENT = `const value = await tools.confirm({}); return value;`;

/** Users of the bearer tests: two tenants. */
const TOKENS: Record<string, AuthResult> = {
  'alice-token': { valid: true, userId: 'alice', tenantId: 'acme' },
  'bob-token': { valid: true, userId: 'bob', tenantId: 'globex' },
};

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** Opens the event WebSocket, sends one message and collects the frames until the server closes. */
async function subscribe(url: string, message: unknown): Promise<{ frames: unknown[]; closeCode: number }> {
  const socket = new WebSocket(`${url.replace('http', 'ws')}/sessions/stream`);
  const frames: unknown[] = [];
  socket.on('message', (data) => frames.push(JSON.parse(String(data))));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  socket.send(JSON.stringify(message));
  const closeCode = await new Promise<number>((resolve) => socket.once('close', resolve));
  return { frames, closeCode };
}

describe('bearer authentication and tenant isolation', () => {
  let server: TestBroker;
  beforeAll(async () => {
    server = await startTestBroker({
      authentication: { type: 'bearer', validate: async (token) => TOKENS[token] ?? { valid: false } },
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers 401 UNAUTHORIZED without a token or with a wrong one, with a Bearer challenge', async () => {
    for (const headers of [
      {},
      bearer('mallory-token'),
      { authorization: 'alice-token' },
      { 'x-api-key': 'alice-token' },
    ]) {
      const response = await postJson(`${server.url}/execute`, { code: 'return 1' }, headers);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="enclave"');
      expect(await errorOf(response)).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    }
    expect((await fetch(`${server.url}/code/actions`)).status).toBe(401);
  });

  it('keeps /health public', async () => {
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  it('runs code for a valid token', async () => {
    const events = await readAllEvents(
      await postJson(`${server.url}/execute`, { code: 'return 40 + 2' }, bearer('alice-token')),
    );
    expect(events.at(-1)).toMatchObject({ type: 'final', payload: { ok: true, result: 42 } });
  });

  it("reports another tenant's session exactly like a missing one, on every route and the WebSocket", async () => {
    const response = await postJson(
      `${server.url}/execute`,
      { code: WAIT_FOR_CLIENT },
      bearer('alice-token'),
    );
    const sessionId = response.headers.get('x-session-id') ?? '';
    const reader = new EventReader(response);
    await reader.next();
    const call = await reader.next();
    const callId = call.type === 'tool_call' ? call.payload.callId : '';

    const asBob = bearer('bob-token');
    const attempts = [
      fetch(`${server.url}/sessions/${sessionId}`, { headers: asBob }),
      fetch(`${server.url}/sessions/${sessionId}/events`, { headers: asBob }),
      fetch(`${server.url}/sessions/${sessionId}`, { method: 'DELETE', headers: asBob }),
      postJson(`${server.url}/sessions/${sessionId}/tool-result`, { callId, result: 'stolen' }, asBob),
    ];
    for (const attempt of await Promise.all(attempts)) {
      expect(await errorOf(attempt)).toMatchObject({ status: 404, code: 'SESSION_NOT_FOUND' });
    }
    const socket = await subscribe(server.url, {
      type: 'subscribe',
      sessionId,
      fromSeq: 1,
      token: 'bob-token',
    });
    expect(socket.frames).toHaveLength(1);
    expect(StreamErrorMessageSchema.parse(socket.frames[0])).toMatchObject({ code: 'SESSION_NOT_FOUND' });

    // Alice still owns it: she sees it, answers the tool and gets the result.
    expect(
      (await fetch(`${server.url}/sessions/${sessionId}`, { headers: bearer('alice-token') })).status,
    ).toBe(200);
    const answer = await postJson(
      `${server.url}/sessions/${sessionId}/tool-result`,
      { callId, result: 'mine' },
      bearer('alice-token'),
    );
    expect(answer.status).toBe(200);
    const rest = await reader.rest();
    expect(rest.at(-1)).toMatchObject({ type: 'final', payload: { ok: true, result: 'mine' } });
  });

  it('takes the WebSocket credentials from the subscribe token', async () => {
    const response = await postJson(`${server.url}/execute`, { code: 'return "hi"' }, bearer('alice-token'));
    const sessionId = response.headers.get('x-session-id') ?? '';
    await readAllEvents(response);

    const refused = await subscribe(server.url, { type: 'subscribe', sessionId, fromSeq: 1 });
    expect(StreamErrorMessageSchema.parse(refused.frames[0])).toMatchObject({ code: 'UNAUTHORIZED' });
    const wrong = await subscribe(server.url, { type: 'subscribe', sessionId, fromSeq: 1, token: 'nope' });
    expect(StreamErrorMessageSchema.parse(wrong.frames[0])).toMatchObject({ code: 'UNAUTHORIZED' });

    const accepted = await subscribe(server.url, {
      type: 'subscribe',
      sessionId,
      fromSeq: 1,
      token: 'alice-token',
    });
    expect(accepted.closeCode).toBe(1000);
    const events = accepted.frames as StreamEvent[];
    expect(events[0]).toMatchObject({ type: 'session_init', seq: 1 });
    expect(events.at(-1)).toMatchObject({ type: 'final', payload: { result: 'hi' } });
  });
});

describe('api-key and custom authentication', () => {
  it('api-key reads the x-api-key header', async () => {
    const received: string[] = [];
    const authentication: AuthConfig = {
      type: 'api-key',
      validate: async (key) => {
        received.push(key);
        return { valid: key === 'key-123', userId: 'service' };
      },
    };
    await using server = await startTestBroker({ authentication });

    expect(
      await errorOf(await fetch(`${server.url}/code/actions`, { headers: bearer('key-123') })),
    ).toMatchObject({
      status: 401,
      code: 'UNAUTHORIZED',
    });
    expect((await fetch(`${server.url}/code/actions`, { headers: { 'x-api-key': 'wrong' } })).status).toBe(
      401,
    );
    expect((await fetch(`${server.url}/code/actions`, { headers: { 'x-api-key': 'key-123' } })).status).toBe(
      200,
    );
    expect(received).toEqual(['wrong', 'key-123']);
  });

  it('custom passes the raw Authorization value; a throwing validator means 401, not 500', async () => {
    const received: string[] = [];
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (message: string) => warnings.push(message) };
    await using server = await startTestBroker({
      logger,
      authentication: {
        type: 'custom',
        validate: async (value) => {
          received.push(value);
          if (value === 'explode') throw new Error('database down');
          return { valid: value === 'Signature keyId="k1",sig="abc"' };
        },
      },
    });
    const get = (authorization: string) =>
      fetch(`${server.url}/code/actions`, { headers: { authorization } });

    expect((await get('Signature keyId="k1",sig="abc"')).status).toBe(200);
    expect(await errorOf(await get('explode'))).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect((await get('Bearer x')).status).toBe(401);
    expect(received).toEqual(['Signature keyId="k1",sig="abc"', 'explode', 'Bearer x']);
    expect(warnings).toEqual([expect.stringContaining('authentication.validate threw')]);
  });
});
