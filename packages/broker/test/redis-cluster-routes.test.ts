import { ReconnectingStream } from '@enclave-vm/stream';
import type { EnclaveError, StreamEvent, WireEvent } from '@enclave-vm/types';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { EnclaveBroker } from '../src/index.js';
import { collect, eventOf, readUntil, rejectionOf, typesOf } from './broker-helpers.js';
import {
  EventReader,
  errorOf,
  postJson,
  range,
  readAllEvents,
  seqsOf,
  startDropProxy,
} from './http-test-helpers.js';
import { startCluster } from './redis-cluster-helpers.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

/** Code that asks the client `count` times, then returns the answers. */
const askingCode = (count: number) => `
  const answers = [];
  for (let index = 0; index < ${count}; index++) {
    console.log('asking ' + index);
    answers.push(await tools.ask({ index }));
  }
  return answers;
`;

const isToolCall = (event: StreamEvent) => event.type === 'tool_call';

function callIdOf(event: StreamEvent | undefined): string {
  if (event?.type !== 'tool_call') throw new Error(`expected a tool_call, got ${event?.type}`);
  return event.payload.callId;
}

describe('two brokers on one Redis, over HTTP', () => {
  it('serves a session started on one broker from the other: record, resume, tool results, errors', async () => {
    await using cluster = await startCluster(redis.url, 2);
    const [owner, other] = cluster.brokers as [(typeof cluster.brokers)[0], (typeof cluster.brokers)[0]];
    const started = await postJson(`${owner.url}/execute`, { code: askingCode(2) });
    expect(started.status).toBe(200);
    const sessionId = started.headers.get('x-session-id') ?? '';
    const ownerStream = new EventReader(started);
    const ownerFirst = [await ownerStream.next(), await ownerStream.next(), await ownerStream.next()];
    expect(typesOf(ownerFirst)).toEqual(['session_init', 'stdout', 'tool_call']);

    // The same record on both brokers.
    const fromOwner = await (await fetch(`${owner.url}/sessions/${sessionId}`)).json();
    const fromOther = await (await fetch(`${other.url}/sessions/${sessionId}`)).json();
    expect({ ...fromOther, stats: undefined }).toEqual({ ...fromOwner, stats: undefined });
    expect(fromOther).toMatchObject({ status: 'running', pendingToolCalls: [callIdOf(ownerFirst[2])] });

    // Resume on the other broker: replay, then live.
    const resumed = new EventReader(await fetch(`${other.url}/sessions/${sessionId}/events?fromSeq=2`));
    expect(seqsOf([await resumed.next(), await resumed.next()])).toEqual([2, 3]);

    // Answers through the other broker reach the owner; mistakes are refused as on one broker.
    const unknown = await postJson(`${other.url}/sessions/${sessionId}/tool-result`, {
      callId: 'call_unknown',
      result: 1,
    });
    expect(await errorOf(unknown)).toMatchObject({ status: 404, code: 'TOOL_CALL_NOT_FOUND' });
    const answered = await postJson(`${other.url}/sessions/${sessionId}/tool-result`, {
      callId: callIdOf(ownerFirst[2]),
      result: 'first',
    });
    expect(await answered.json()).toEqual({ success: true });
    const again = await postJson(`${other.url}/sessions/${sessionId}/tool-result`, {
      callId: callIdOf(ownerFirst[2]),
      result: 'twice',
    });
    expect(await errorOf(again)).toMatchObject({ status: 409, code: 'TOOL_CALL_ALREADY_ANSWERED' });

    const resumedMore = [await resumed.next(), await resumed.next(), await resumed.next()];
    expect(typesOf(resumedMore)).toEqual(['tool_result_applied', 'stdout', 'tool_call']);
    await postJson(`${other.url}/sessions/${sessionId}/tool-result`, {
      callId: callIdOf(resumedMore[2]),
      error: { message: 'declined', code: 'FORBIDDEN' },
    });
    const resumedRest = await resumed.rest();
    const ownerRest = await ownerStream.rest();
    const ownerAll = [...ownerFirst, ...ownerRest];
    expect(seqsOf(ownerAll)).toEqual(range(1, ownerAll.length));
    expect(seqsOf(resumedRest)).toEqual(range(7, ownerAll.length));
    expect(eventOf(ownerAll, 'final').payload.error?.code).toBe('FORBIDDEN');

    const late = await postJson(`${other.url}/sessions/${sessionId}/tool-result`, {
      callId: callIdOf(resumedMore[2]),
      result: 'late',
    });
    expect(await errorOf(late)).toMatchObject({ status: 409, code: 'SESSION_ENDED' });
    // A full replay from the other broker equals what the owner streamed.
    expect(await readAllEvents(await fetch(`${other.url}/sessions/${sessionId}/events`))).toEqual(ownerAll);
    expect(await (await fetch(`${owner.url}/sessions/${sessionId}`)).json()).toMatchObject({
      status: 'error',
      lastSeq: ownerAll.length,
      error: { code: 'FORBIDDEN' },
    });
  });

  it('cancels with DELETE on the other broker: the owner stops the run and every stream ends', async () => {
    await using cluster = await startCluster(redis.url, 2);
    const [owner, other] = cluster.brokers as [(typeof cluster.brokers)[0], (typeof cluster.brokers)[0]];
    const started = await postJson(`${owner.url}/execute`, { code: askingCode(1) });
    const sessionId = started.headers.get('x-session-id') ?? '';
    const ownerStream = new EventReader(started);
    await ownerStream.next();
    const cancelled = await fetch(`${other.url}/sessions/${sessionId}`, { method: 'DELETE' });
    expect(await cancelled.json()).toEqual({ success: true, sessionId, status: 'error' });
    const rest = await ownerStream.rest();
    expect(typesOf(rest).slice(-2)).toEqual(['error', 'final']);
    expect(eventOf(rest, 'error').payload.code).toBe('CANCELLED');
    expect(owner.broker.health().sessions.active).toBe(0);
    const again = await fetch(`${other.url}/sessions/${sessionId}`, { method: 'DELETE' });
    expect(await again.json()).toEqual({ success: true, sessionId, status: 'error' });
  });

  it('follows a session of the other broker over the WebSocket through dropped connections', async () => {
    await using cluster = await startCluster(redis.url, 2);
    const [owner, other] = cluster.brokers as [(typeof cluster.brokers)[0], (typeof cluster.brokers)[0]];
    await using proxy = await startDropProxy(other.url);
    const session = await owner.broker.startSession({
      code: 'for (let i = 0; i < 120; i++) { console.log(i); if (i % 30 === 0) await tools.ask({ i }); } return 1',
    });
    const received: WireEvent[] = [];
    const answered = new Set<string>();
    const closed = new Promise<EnclaveError | undefined>((resolve) => {
      const stream = new ReconnectingStream({
        url: `ws://${proxy.host}/sessions/stream`,
        sessionId: session.id,
        WebSocket,
        reconnect: { maxAttempts: 10, initialDelay: 10, maxDelay: 50, backoffMultiplier: 2 },
        heartbeatTimeout: 5000,
        onMessage: (event) => {
          received.push(event);
          if (event.type === 'tool_call' && !answered.has(event.payload.callId)) {
            answered.add(event.payload.callId);
            // Answered through the broker the client is connected to, which does not run the session.
            void other.broker.submitToolResult(session.id, event.payload.callId, 'ok');
          }
          if (received.length % 25 === 0) proxy.dropAll();
        },
        onClose: resolve,
      });
      void stream.connect();
    });
    expect(await closed).toBeUndefined();
    expect(proxy.connections).toBeGreaterThan(1);
    expect(seqsOf(received as StreamEvent[])).toEqual(range(1, received.length));
    expect(received.at(-1)).toMatchObject({ type: 'final', payload: { ok: true, result: 1 } });
    expect(received).toEqual(await readAllEvents(await fetch(`${owner.url}/sessions/${session.id}/events`)));
  });
});

describe('three brokers on one Redis, through the broker API', () => {
  it('any broker reads, follows, answers and cancels what another runs', async () => {
    await using cluster = await startCluster(redis.url, 3);
    const [first, second, third] = cluster.brokers.map((member) => member.broker) as [
      (typeof cluster.brokers)[0]['broker'],
      (typeof cluster.brokers)[0]['broker'],
      (typeof cluster.brokers)[0]['broker'],
    ];
    const session = await first.startSession({ code: askingCode(2) });
    expect(session.owner).toBe(first.id);
    const onSecond = second.streamEvents(session.id)[Symbol.asyncIterator]();
    const onThird = third.streamEvents(session.id, { fromSeq: 2 })[Symbol.asyncIterator]();
    const call = (await readUntil(onSecond, isToolCall)).at(-1);
    expect((await third.getSession(session.id))?.pendingToolCalls).toEqual([callIdOf(call)]);
    await third.submitToolResult(session.id, callIdOf(call), 'from the third');
    const secondCall = (await readUntil(onSecond, isToolCall)).at(-1);
    await second.submitToolResult(session.id, callIdOf(secondCall), 'from the second');
    const restOnSecond = await collect({ [Symbol.asyncIterator]: () => onSecond });
    const onThirdAll = await collect({ [Symbol.asyncIterator]: () => onThird });
    expect(eventOf(restOnSecond, 'final').payload.result).toEqual(['from the third', 'from the second']);
    expect(seqsOf(onThirdAll)).toEqual(range(2, onThirdAll.at(-1)?.seq ?? 0));
    expect((await rejectionOf(third.submitToolResult(session.id, callIdOf(call), 'late'))).code).toBe(
      'SESSION_ENDED',
    );

    const cancelled = await second.startSession({ code: askingCode(1) });
    const followed = collect(first.streamEvents(cancelled.id));
    const afterCancel = await third.cancelSession(cancelled.id);
    expect(afterCancel).toMatchObject({ status: 'error', error: { code: 'CANCELLED' } });
    expect(typesOf(await followed).slice(-2)).toEqual(['error', 'final']);
    expect(second.health().sessions.active).toBe(0);
  });

  it('serves reads and answers on a broker that has not started anything yet', async () => {
    await using cluster = await startCluster(redis.url, 1);
    const owner = cluster.brokers[0] as (typeof cluster.brokers)[0];
    const client = new Redis(redis.url, { lazyConnect: true });
    const idle = new EnclaveBroker({ redis: client, keyPrefix: cluster.keyPrefix, poolSize: 1 });
    try {
      const session = await owner.broker.startSession({ code: askingCode(1) });
      const onOwner = owner.broker.streamEvents(session.id)[Symbol.asyncIterator]();
      const call = (await readUntil(onOwner, isToolCall)).at(-1);
      // Nothing started on the idle broker: its first call opens the store and joins the cluster.
      expect((await idle.getSession(session.id))?.status).toBe('running');
      await idle.submitToolResult(session.id, callIdOf(call), 'from an idle broker');
      const rest = await collect({ [Symbol.asyncIterator]: () => onOwner });
      expect(eventOf(rest, 'final').payload.result).toEqual(['from an idle broker']);
      expect(idle.health().sessions).toEqual({ active: 0, total: 0, parked: 0 });
    } finally {
      await idle.close();
      client.disconnect();
    }
  });
});
