import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { AuthResult } from '../src/index.js';
import { EventReader, errorOf, postJson, readAllEvents } from './http-test-helpers.js';
import { startCluster } from './redis-cluster-helpers.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

const WAITING = 'return await tools.ask({})';

describe('the session cap across brokers', () => {
  it('lets exactly maxConcurrentSessions sessions run in the whole cluster, and takes more once one ends', async () => {
    await using cluster = await startCluster(redis.url, 2, { maxConcurrentSessions: 3 });
    const urls = cluster.brokers.map((broker) => broker.url);
    // Ten at once, alternating between the brokers: they race for the last slots.
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, index) => postJson(`${urls[index % 2]}/execute`, { code: WAITING })),
    );
    const accepted = responses.filter((response) => response.status === 200);
    const refused = responses.filter((response) => response.status !== 200);
    expect(accepted).toHaveLength(3);
    for (const response of refused) {
      expect(await errorOf(response)).toMatchObject({ status: 429, code: 'SESSION_LIMIT_REACHED' });
    }
    const running = accepted.map((response) => response.headers.get('x-session-id') ?? '');
    const total = cluster.brokers.reduce((sum, broker) => sum + broker.broker.health().sessions.active, 0);
    expect(total).toBe(3);
    expect(await errorOf(await postJson(`${urls[0]}/execute`, { code: 'return 1' }))).toMatchObject({
      status: 429,
      code: 'SESSION_LIMIT_REACHED',
    });

    // Cancelled through either broker, a slot frees for the whole cluster.
    await fetch(`${urls[1]}/sessions/${running[0]}`, { method: 'DELETE' });
    const next = await postJson(`${urls[0]}/execute`, { code: 'return 2' });
    expect((await readAllEvents(next)).at(-1)).toMatchObject({ type: 'final', payload: { result: 2 } });
    for (const response of accepted) await response.body?.cancel();
  });
});

describe('rate limiting across brokers', () => {
  it('counts requests of a key on every broker against one budget, with the usual headers and code', async () => {
    await using cluster = await startCluster(redis.url, 2, {
      rateLimiting: {
        windowMs: 60_000,
        maxRequests: 4,
        keyGenerator: (request) => request.headers['x-api-key'] || request.ip,
      },
    });
    const [first, second] = cluster.brokers.map((broker) => broker.url) as [string, string];
    const as = (url: string, key: string) => fetch(`${url}/code/actions`, { headers: { 'x-api-key': key } });
    const statuses: number[] = [];
    const remaining: (string | null)[] = [];
    for (const url of [first, second, first, second]) {
      const response = await as(url, 'alice');
      statuses.push(response.status);
      remaining.push(response.headers.get('x-ratelimit-remaining'));
    }
    expect(statuses).toEqual([200, 200, 200, 200]);
    expect(remaining).toEqual(['3', '2', '1', '0']);
    for (const url of [first, second]) {
      const refused = await as(url, 'alice');
      expect(await errorOf(refused)).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(refused.headers.get('x-ratelimit-limit')).toBe('4');
    }
    // Another key has its own budget, on both brokers.
    expect((await as(second, 'bob')).status).toBe(200);
    expect((await as(first, 'bob')).headers.get('x-ratelimit-remaining')).toBe('2');
    // The counters live under the cluster's key prefix, and expire with their window.
    const inspector = new Redis(redis.url);
    const keys = await inspector.keys(`${cluster.keyPrefix}rate:*`);
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (const key of keys) expect(await inspector.pttl(key)).toBeGreaterThan(0);
    await inspector.quit();
  });
});

describe('tenant isolation across brokers', () => {
  const tenants: Record<string, AuthResult> = {
    'token-acme-1': { valid: true, userId: 'u1', tenantId: 'acme' },
    'token-acme-2': { valid: true, userId: 'u2', tenantId: 'acme' },
    'token-other': { valid: true, userId: 'u3', tenantId: 'other' },
  };
  const authentication = {
    type: 'bearer' as const,
    validate: async (token: string): Promise<AuthResult> => tenants[token] ?? { valid: false },
  };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it("reports another tenant's session as missing on every route of every broker", async () => {
    await using cluster = await startCluster(redis.url, 2, { authentication });
    const [owner, other] = cluster.brokers as [(typeof cluster.brokers)[0], (typeof cluster.brokers)[0]];
    const started = await postJson(`${owner.url}/execute`, { code: WAITING }, bearer('token-acme-1'));
    const sessionId = started.headers.get('x-session-id') ?? '';
    const stream = new EventReader(started);
    await stream.next();
    const call = await stream.next();
    const callId = call.type === 'tool_call' ? call.payload.callId : '';

    for (const url of [owner.url, other.url]) {
      const headers = bearer('token-other');
      expect((await fetch(`${url}/sessions/${sessionId}`, { headers })).status).toBe(404);
      expect((await fetch(`${url}/sessions/${sessionId}/events`, { headers })).status).toBe(404);
      const answer = await postJson(
        `${url}/sessions/${sessionId}/tool-result`,
        { callId, result: 1 },
        headers,
      );
      expect(await errorOf(answer)).toMatchObject({ status: 404, code: 'SESSION_NOT_FOUND' });
      const cancel = await fetch(`${url}/sessions/${sessionId}`, { method: 'DELETE', headers });
      expect(await errorOf(cancel)).toMatchObject({ status: 404, code: 'SESSION_NOT_FOUND' });
      const socketError = await new Promise<unknown>((resolve) => {
        const socket = new WebSocket(`${url.replace('http', 'ws')}/sessions/stream`);
        socket.on('open', () =>
          socket.send(JSON.stringify({ type: 'subscribe', sessionId, fromSeq: 1, token: 'token-other' })),
        );
        socket.on('message', (data) => resolve(JSON.parse(String(data))));
      });
      expect(socketError).toMatchObject({ type: 'stream_error', code: 'SESSION_NOT_FOUND' });
    }
    // Another user of the same tenant reaches it through the other broker.
    const fromColleague = await fetch(`${other.url}/sessions/${sessionId}`, {
      headers: bearer('token-acme-2'),
    });
    expect(await fromColleague.json()).toMatchObject({ id: sessionId, status: 'running' });
    const answer = await postJson(
      `${other.url}/sessions/${sessionId}/tool-result`,
      { callId, result: 'ok' },
      bearer('token-acme-2'),
    );
    expect(answer.status).toBe(200);
    expect((await stream.rest()).at(-1)).toMatchObject({
      type: 'final',
      payload: { ok: true, result: 'ok' },
    });
  });
});
