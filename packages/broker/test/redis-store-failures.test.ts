import { freePort, recordingLogger } from '@enclave-vm/test-utils';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnclaveBroker, RedisSessionStore } from '../src/index.js';
import { collect, rejectionOf } from './broker-helpers.js';
import { EventReader, errorOf, postJson, readAllEvents } from './http-test-helpers.js';
import { eventually, startCluster, startClusterBroker } from './redis-cluster-helpers.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

describe('Redis unavailable when a broker starts', () => {
  it('fails listen with STORE_UNAVAILABLE naming the address, and starts once Redis is there', async () => {
    const port = await freePort();
    const logger = recordingLogger();
    const client = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true });
    const broker = new EnclaveBroker({ redis: client, poolSize: 1, logger });
    try {
      const refused = await rejectionOf(broker.listen(0));
      expect(refused.code).toBe('STORE_UNAVAILABLE');
      expect(refused.retryable).toBe(true);
      expect(refused.message).toContain(`127.0.0.1:${port}`);
      expect((await rejectionOf(broker.startSession({ code: 'return 1' }))).code).toBe('STORE_UNAVAILABLE');

      // The same broker starts once Redis answers on that address.
      const { spawn } = await import('node:child_process');
      const server = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        {
          stdio: 'ignore',
        },
      );
      try {
        await eventually(async () => {
          try {
            await broker.listen(0);
            return true;
          } catch {
            return false;
          }
        }, 'the broker to start');
        const events = await collect(broker.execute('return 6 * 7'));
        expect(events.at(-1)).toMatchObject({ type: 'final', payload: { ok: true, result: 42 } });
        await broker.close();
      } finally {
        server.kill();
      }
    } finally {
      await broker.close();
      client.disconnect();
    }
  });
});

describe('Redis restarted while sessions run', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('answers 503 STORE_UNAVAILABLE meanwhile, ends open streams, never crashes, and recovers by itself', {
    timeout: 60_000,
  }, async () => {
    const recorded = recordingLogger();
    await using cluster = await startCluster(redis.url, 2, {
      heartbeatInterval: 200,
      logger: recorded,
    });
    const [owner, other] = cluster.brokers as [(typeof cluster.brokers)[0], (typeof cluster.brokers)[0]];
    const started = await postJson(`${owner.url}/execute`, { code: 'return await tools.ask({})' });
    const sessionId = started.headers.get('x-session-id') ?? '';
    const ownerStream = new EventReader(started);
    await ownerStream.next();
    const followerOnOther = fetch(`${other.url}/sessions/${sessionId}/events`).then((response) =>
      response.text(),
    );
    const followerInProcess = rejectionOf(collect(other.broker.streamEvents(sessionId)));
    await eventually(async () => (await owner.broker.getSession(sessionId))?.status === 'running', 'running');

    await redis.stop();

    // Requests that need Redis: a retryable 503 with a code. Health does not need it.
    const read = await fetch(`${other.url}/sessions/${sessionId}`);
    expect(read.status).toBe(503);
    expect(read.headers.get('retry-after')).toBe('1');
    expect(await read.json()).toMatchObject({ error: { code: 'STORE_UNAVAILABLE', retryable: true } });
    const refused = await postJson(`${owner.url}/execute`, { code: 'return 1' });
    expect(await errorOf(refused)).toMatchObject({ status: 503, code: 'STORE_UNAVAILABLE' });
    expect((await fetch(`${owner.url}/health`)).status).toBe(200);
    expect((await fetch(`${other.url}/health`)).status).toBe(200);
    // Followers are not left hanging: their streams end, and their clients resume later.
    const partial = await followerOnOther;
    expect(partial).not.toContain('"type":"final"');
    expect((await followerInProcess).code).toBe('STORE_UNAVAILABLE');
    // So is the client of the broker running the session, once its writes wait on Redis for a while.
    const ownerRest = await ownerStream.rest();
    expect(ownerRest.some((event) => event.type === 'final')).toBe(false);

    await redis.start();

    // Back by itself: sessions run again, across brokers.
    const next = await eventually(async () => {
      const response = await postJson(`${other.url}/execute`, { code: 'return await tools.ask({})' });
      if (response.status === 200) return response;
      await response.body?.cancel();
      return undefined;
    }, 'a session after the restart');
    const nextId = next.headers.get('x-session-id') ?? '';
    const nextStream = new EventReader(next);
    let call = await nextStream.next();
    while (call.type !== 'tool_call') call = await nextStream.next();
    const answer = await eventually(async () => {
      const response = await postJson(`${owner.url}/sessions/${nextId}/tool-result`, {
        callId: call.type === 'tool_call' ? call.payload.callId : '',
        result: 'after the restart',
      });
      return response.status === 200 ? response : undefined;
    }, 'a routed answer after the restart');
    expect(await answer.json()).toEqual({ success: true });
    expect((await nextStream.rest()).at(-1)).toMatchObject({
      type: 'final',
      payload: { ok: true, result: 'after the restart' },
    });

    // The restart lost the old session (persistence is off): it is gone everywhere, and its owner let go.
    expect((await fetch(`${other.url}/sessions/${sessionId}`)).status).toBe(404);
    await eventually(
      () => owner.broker.health().sessions.active === 0,
      'the owner to let the lost session go',
    );
    await ownerStream.cancel();
    expect(recorded.lines.some((line) => line.includes('Lost the connection to Redis'))).toBe(true);
  });
});

describe('keys in Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('lives under keyPrefix, always with an expiry, and logs are trimmed to maxEventLogSize', async () => {
    await using cluster = await startCluster(redis.url, 2, { maxEventLogSize: 20 });
    const [owner, other] = cluster.brokers as [(typeof cluster.brokers)[0], (typeof cluster.brokers)[0]];
    const response = await postJson(`${owner.url}/execute`, {
      code: 'for (let i = 0; i < 100; i++) console.log(i); return await tools.ask({})',
    });
    const sessionId = response.headers.get('x-session-id') ?? '';
    const stream = new EventReader(response);
    let event = await stream.next();
    while (event.type !== 'tool_call') event = await stream.next();

    const inspector = new Redis(redis.url);
    try {
      expect(await inspector.xlen(`${cluster.keyPrefix}session:${sessionId}:log`)).toBe(20);
      const truncated = await fetch(`${other.url}/sessions/${sessionId}/events?fromSeq=1`);
      expect(truncated.status).toBe(410);
      expect(await truncated.json()).toMatchObject({
        error: { code: 'EVENT_LOG_TRUNCATED', details: { firstAvailableSeq: event.seq - 19 } },
      });
      const kept = await fetch(`${other.url}/sessions/${sessionId}/events?fromSeq=${event.seq - 19}`);
      expect((await new EventReader(kept).next()).seq).toBe(event.seq - 19);

      const keys = await inspector.keys('*');
      expect(keys.length).toBeGreaterThan(4);
      for (const key of keys) {
        expect(key.startsWith(cluster.keyPrefix)).toBe(true);
        expect(await inspector.pttl(key)).toBeGreaterThan(0);
      }
    } finally {
      await inspector.quit();
      await stream.cancel();
    }
  });

  it('expire with the session: timeout plus the grace period', async () => {
    const keyPrefix = `expiry:${Date.now()}:`;
    const client = new Redis(redis.url, { lazyConnect: true });
    const store = new RedisSessionStore({ redis: client, keyPrefix, expiryGrace: 300 });
    const broker = new EnclaveBroker({ store, sessionTimeout: 500, poolSize: 1 });
    const inspector = new Redis(redis.url);
    try {
      const events = await collect(broker.execute('return 1'));
      const sessionId = events[0]?.sessionId ?? '';
      expect(
        await inspector.exists(`${keyPrefix}session:${sessionId}`, `${keyPrefix}session:${sessionId}:log`),
      ).toBe(2);
      await eventually(
        async () =>
          (await inspector.exists(
            `${keyPrefix}session:${sessionId}`,
            `${keyPrefix}session:${sessionId}:log`,
          )) === 0,
        'the keys to expire',
      );
      expect(await broker.getSession(sessionId)).toBeNull();
    } finally {
      await broker.close();
      await store.close();
      await inspector.quit();
      client.disconnect();
    }
  });

  it('belong to one cluster per keyPrefix: brokers under another prefix see nothing of it', async () => {
    await using first = await startCluster(redis.url, 1);
    await using second = await startClusterBroker(redis.url, 'another:');
    const events = await readAllEvents(
      await postJson(`${first.brokers[0]?.url}/execute`, { code: 'return 1' }),
    );
    const sessionId = events[0]?.sessionId ?? '';
    expect((await fetch(`${second.url}/sessions/${sessionId}`)).status).toBe(404);
    expect((await fetch(`${first.brokers[0]?.url}/sessions/${sessionId}`)).status).toBe(200);
  });
});
