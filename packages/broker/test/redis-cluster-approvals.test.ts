import { exportPublicKey, generateKeyPair, readNDJSON } from '@enclave-vm/stream';
import type { StreamEvent, WireEvent } from '@enclave-vm/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AuthResult, BrokerOptions, EnclaveBroker } from '../src/index.js';
import { collect, eventOf, readUntil, rejectionOf, typesOf } from './broker-helpers.js';
import { clientCipherFor } from './encryption-helpers.js';
import { EventReader, errorOf, postJson } from './http-test-helpers.js';
import { type ClusterBroker, startCluster } from './redis-cluster-helpers.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

/** Registers `deleteUser`, which needs approval, recording the deletions in `deleted`. */
function registerDeleteUser(broker: EnclaveBroker, deleted: string[]): void {
  broker.tool('deleteUser', {
    description: 'Delete a user',
    argsSchema: z.object({ id: z.string() }),
    requiresApproval: true,
    handler: async ({ id }) => {
      deleted.push(id);
      return `deleted ${id}`;
    },
  });
}

/** Code that deletes user 7, then waits on a client tool so that the session outlives the decision. */
const DELETE_THEN_CONFIRM = `
  let outcome;
  try {
    outcome = await tools.deleteUser({ id: '7' });
  } catch (error) {
    outcome = error.code + ': ' + error.message;
  }
  await tools.confirm({});
  return outcome;
`;

/** Two brokers on the test's Redis, both with `deleteUser`; the deletions of both are shared. */
async function twoBrokers(options: BrokerOptions = {}) {
  const deleted: string[] = [];
  const cluster = await startCluster(redis.url, 2, options);
  const [owner, other] = cluster.brokers as [ClusterBroker, ClusterBroker];
  registerDeleteUser(owner.broker, deleted);
  registerDeleteUser(other.broker, deleted);
  return { owner, other, deleted, [Symbol.asyncDispose]: () => cluster.close() };
}

describe('approvals across two brokers on one Redis', () => {
  it('takes a decision posted to the broker that does not run the session, with every refusal', async () => {
    await using brokers = await twoBrokers();
    const { owner, other, deleted } = brokers;
    const started = await postJson(`${owner.url}/execute`, { code: DELETE_THEN_CONFIRM });
    const sessionId = started.headers.get('x-session-id') ?? '';
    const stream = new EventReader(started);
    const read: StreamEvent[] = [];
    while (read.at(-1)?.type !== 'approval_required') read.push(await stream.next());
    const callId = eventOf(read, 'approval_required').payload.callId;
    // The other broker reads the same record.
    expect(await (await fetch(`${other.url}/sessions/${sessionId}`)).json()).toMatchObject({
      status: 'running',
      pendingApprovals: [callId],
    });

    const decide = (body: unknown) => postJson(`${other.url}/sessions/${sessionId}/approvals`, body);
    expect(await errorOf(await decide({ callId: 'call_nope', approved: true }))).toMatchObject({
      status: 404,
      code: 'APPROVAL_NOT_FOUND',
    });
    const answer = await decide({ callId, approved: true, reason: 'checked' });
    expect(await answer.json()).toEqual({ success: true });
    expect(await errorOf(await decide({ callId, approved: false }))).toMatchObject({
      status: 409,
      code: 'APPROVAL_ALREADY_RESOLVED',
    });

    while (
      read.at(-1)?.type !== 'tool_call' ||
      read.filter((event) => event.type === 'tool_call').length < 2
    ) {
      read.push(await stream.next());
    }
    const confirm = read.at(-1);
    if (confirm?.type !== 'tool_call') throw new Error('expected the confirm call');
    await postJson(`${other.url}/sessions/${sessionId}/tool-result`, {
      callId: confirm.payload.callId,
      result: true,
    });
    const all = [...read, ...(await stream.rest())];
    expect(eventOf(all, 'approval_resolved').payload).toMatchObject({ approved: true, reason: 'checked' });
    expect(eventOf(all, 'final').payload.result).toBe('deleted 7');
    expect(deleted).toEqual(['7']);
    expect(await errorOf(await decide({ callId, approved: true }))).toMatchObject({
      status: 409,
      code: 'SESSION_ENDED',
    });
    // The decision is in the shared log: a replay from the other broker shows it.
    const replay = await collect(other.broker.streamEvents(sessionId));
    expect(replay).toEqual(all);
  });

  it('takes broker.submitApproval on the other broker: a denial throws inside the code', async () => {
    await using brokers = await twoBrokers();
    const { owner, other, deleted } = brokers;
    const session = await owner.broker.startSession({ code: DELETE_THEN_CONFIRM });
    const followed = other.broker.streamEvents(session.id)[Symbol.asyncIterator]();
    const required = eventOf(
      await readUntil(followed, (event) => event.type === 'approval_required'),
      'approval_required',
    );
    await other.broker.submitApproval(session.id, required.payload.callId, false, 'Not today');
    const confirm = (
      await readUntil(followed, (event) => event.type === 'tool_call' && event.payload.toolName === 'confirm')
    ).at(-1);
    if (confirm?.type !== 'tool_call') throw new Error('expected the confirm call');
    expect(
      await rejectionOf(other.broker.submitApproval(session.id, required.payload.callId, true)),
    ).toMatchObject({ code: 'APPROVAL_ALREADY_RESOLVED' });
    await other.broker.submitToolResult(session.id, confirm.payload.callId, true);
    const rest = await collect({ [Symbol.asyncIterator]: () => followed });
    expect(eventOf(rest, 'final').payload.result).toBe(
      'APPROVAL_DENIED: The call of tool deleteUser was denied: Not today',
    );
    expect(deleted).toEqual([]);
  });

  it('records who decided, as authenticated on the broker that took the decision', async () => {
    const tokens: Record<string, AuthResult> = {
      'alice-token': { valid: true, userId: 'alice', tenantId: 'acme' },
      'carol-token': { valid: true, userId: 'carol', tenantId: 'acme' },
      'bob-token': { valid: true, userId: 'bob', tenantId: 'globex' },
    };
    await using brokers = await twoBrokers({
      authentication: { type: 'bearer', validate: async (token) => tokens[token] ?? { valid: false } },
    });
    const { owner, other } = brokers;
    const started = await postJson(
      `${owner.url}/execute`,
      { code: `return await tools.deleteUser({ id: '7' })` },
      { authorization: 'Bearer alice-token' },
    );
    const sessionId = started.headers.get('x-session-id') ?? '';
    const stream = new EventReader(started);
    const read: StreamEvent[] = [];
    while (read.at(-1)?.type !== 'approval_required') read.push(await stream.next());
    const callId = eventOf(read, 'approval_required').payload.callId;
    const fromBob = await postJson(
      `${other.url}/sessions/${sessionId}/approvals`,
      { callId, approved: true },
      { authorization: 'Bearer bob-token' },
    );
    expect(await errorOf(fromBob)).toMatchObject({ status: 404, code: 'SESSION_NOT_FOUND' });
    const fromCarol = await postJson(
      `${other.url}/sessions/${sessionId}/approvals`,
      { callId, approved: true },
      { authorization: 'Bearer carol-token' },
    );
    expect(fromCarol.status).toBe(200);
    const rest = await stream.rest();
    expect(eventOf(rest, 'approval_resolved').payload.decidedBy).toEqual({
      userId: 'carol',
      tenantId: 'acme',
    });
    expect(typesOf(rest).at(-1)).toBe('final');
  });

  it('forwards a sealed decision of an encrypted session to the broker that holds its keys', async () => {
    await using brokers = await twoBrokers();
    const { owner, other, deleted } = brokers;
    const keyPair = await generateKeyPair();
    const started = await postJson(`${owner.url}/execute`, {
      code: `return await tools.deleteUser({ id: '7' })`,
      encryption: { publicKey: await exportPublicKey(keyPair.publicKey) },
    });
    const sessionId = started.headers.get('x-session-id') ?? '';
    if (started.body === null) throw new Error('no body');
    const lines = readNDJSON<WireEvent>(started.body)[Symbol.asyncIterator]();
    const cipher = await clientCipherFor(keyPair, (await lines.next()).value as WireEvent);
    const events: StreamEvent[] = [];
    const next = async (): Promise<StreamEvent> => {
      const line = await lines.next();
      if (line.done === true) throw new Error('the stream ended');
      expect(line.value.type).toBe('encrypted');
      const event = line.value.type === 'encrypted' ? await cipher.openEvent(line.value) : line.value;
      events.push(event);
      return event;
    };
    while ((await next()).type !== 'approval_required');
    const callId = eventOf(events, 'approval_required').payload.callId;
    const plain = await postJson(`${other.url}/sessions/${sessionId}/approvals`, { callId, approved: true });
    expect(await errorOf(plain)).toMatchObject({ status: 400, code: 'ENCRYPTION_ERROR' });
    const sealed = await cipher.sealMessage({ type: 'approval', callId, approved: true });
    const answer = await postJson(`${other.url}/sessions/${sessionId}/approvals`, {
      callId,
      encrypted: sealed,
    });
    expect(await answer.json()).toEqual({ success: true });
    while ((await next()).type !== 'final');
    expect(eventOf(events, 'approval_resolved').payload.approved).toBe(true);
    expect(eventOf(events, 'final').payload.result).toBe('deleted 7');
    expect(deleted).toEqual(['7']);
  });
});
