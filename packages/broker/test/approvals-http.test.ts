import { exportPublicKey, generateKeyPair, readNDJSON } from '@enclave-vm/stream';
import type { StreamEvent, WireEvent } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AuthResult, EnclaveBroker } from '../src/index.js';
import { eventOf, rejectionOf, typesOf } from './broker-helpers.js';
import { clientCipherFor } from './encryption-helpers.js';
import { EventReader, errorOf, postJson, startTestBroker } from './http-test-helpers.js';

/** Registers `deleteUser`, which needs approval, and returns the ids it deleted. */
function withDeleteUser(broker: EnclaveBroker): string[] {
  const deleted: string[] = [];
  broker.tool('deleteUser', {
    description: 'Delete a user',
    argsSchema: z.object({ id: z.string() }),
    requiresApproval: true,
    handler: async ({ id }) => {
      deleted.push(id);
      return `deleted ${id}`;
    },
  });
  return deleted;
}

const DELETE_AND_REPORT = `
  try {
    return await tools.deleteUser({ id: '7' });
  } catch (error) {
    return error.code + ': ' + error.message;
  }
`;

/** Like DELETE_AND_REPORT, then waits on a client tool: the session still runs after the decision. */
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

/** Starts `code` over HTTP and reads its events up to the first `approval_required`. */
async function startUntilApproval(url: string, code: string, headers: Record<string, string> = {}) {
  const response = await postJson(`${url}/execute`, { code }, headers);
  expect(response.status).toBe(200);
  const reader = new EventReader(response);
  const read: StreamEvent[] = [];
  while (read.at(-1)?.type !== 'approval_required') read.push(await reader.next());
  const required = eventOf(read, 'approval_required');
  const sessionId = required.sessionId;
  const decide = (body: unknown, extraHeaders: Record<string, string> = headers) =>
    postJson(`${url}/sessions/${sessionId}/approvals`, body, extraHeaders);
  return { reader, read, sessionId, callId: required.payload.callId, decide };
}

/** Reads until the `tool_call` of `toolName`; returns its call id. */
async function readUntilToolCall(reader: EventReader, toolName: string): Promise<string> {
  for (;;) {
    const event = await reader.next();
    if (event.type === 'tool_call' && event.payload.toolName === toolName) return event.payload.callId;
  }
}

describe('POST /sessions/:sessionId/approvals', () => {
  it('approves a waiting call with { success: true }; the tool runs and the code resumes', async () => {
    await using server = await startTestBroker();
    const deleted = withDeleteUser(server.broker);
    const session = await startUntilApproval(server.url, DELETE_AND_REPORT);
    const info = await (await fetch(`${server.url}/sessions/${session.sessionId}`)).json();
    expect(info).toMatchObject({
      status: 'running',
      pendingToolCalls: [],
      pendingApprovals: [session.callId],
    });

    const answer = await session.decide({ callId: session.callId, approved: true });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ success: true });
    const rest = await session.reader.rest();
    expect(typesOf(rest)).toEqual(['approval_resolved', 'tool_result_applied', 'final']);
    expect(eventOf(rest, 'final').payload.result).toBe('deleted 7');
    expect(deleted).toEqual(['7']);
  });

  it('denies with a reason the code sees, and keeps the decision in the log for an audit', async () => {
    await using server = await startTestBroker();
    const deleted = withDeleteUser(server.broker);
    const session = await startUntilApproval(server.url, DELETE_AND_REPORT);
    await session.decide({ callId: session.callId, approved: false, reason: 'Ticket missing' });
    const rest = await session.reader.rest();
    expect(eventOf(rest, 'final').payload.result).toBe(
      'APPROVAL_DENIED: The call of tool deleteUser was denied: Ticket missing',
    );
    expect(deleted).toEqual([]);
    // The replayed log tells who allowed what.
    const replay = await (await fetch(`${server.url}/sessions/${session.sessionId}/events`)).text();
    const logged = replay
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as StreamEvent);
    expect(typesOf(logged)).toEqual([
      'session_init',
      'tool_call',
      'approval_required',
      'approval_resolved',
      'tool_result_applied',
      'final',
    ]);
    expect(eventOf(logged, 'approval_resolved').payload).toMatchObject({
      callId: session.callId,
      toolName: 'deleteUser',
      approved: false,
      reason: 'Ticket missing',
    });
  });

  it('refuses mistakes with a 4xx and a code, and the call goes on waiting', async () => {
    await using server = await startTestBroker();
    withDeleteUser(server.broker);
    const session = await startUntilApproval(server.url, DELETE_THEN_CONFIRM);
    const cases: [unknown, number, string][] = [
      [{ callId: 'call_nope', approved: true }, 404, 'APPROVAL_NOT_FOUND'],
      [{ callId: session.callId }, 400, 'VALIDATION_ERROR'],
      [{ callId: session.callId, approved: 'yes' }, 400, 'VALIDATION_ERROR'],
      [{ callId: session.callId, approved: true, by: 'me' }, 400, 'VALIDATION_ERROR'],
      [{ callId: session.callId, approved: false, reason: 'x'.repeat(10_001) }, 400, 'VALIDATION_ERROR'],
      [
        { callId: session.callId, approved: true, encrypted: { counter: 1, iv: 'AAAA', ciphertext: 'AAAA' } },
        400,
        'VALIDATION_ERROR',
      ],
      [
        { callId: session.callId, encrypted: { counter: 1, iv: 'AAAA', ciphertext: 'AAAA' } },
        400,
        'ENCRYPTION_ERROR',
      ],
    ];
    for (const [body, status, code] of cases) {
      expect(await errorOf(await session.decide(body))).toMatchObject({ status, code });
    }
    const unknownSession = await postJson(`${server.url}/sessions/ses_nope/approvals`, {
      callId: session.callId,
      approved: true,
    });
    expect(await errorOf(unknownSession)).toMatchObject({ status: 404, code: 'SESSION_NOT_FOUND' });
    const wrongMethod = await fetch(`${server.url}/sessions/${session.sessionId}/approvals`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');

    await session.decide({ callId: session.callId, approved: true });
    const confirm = await readUntilToolCall(session.reader, 'confirm');
    const again = await session.decide({ callId: session.callId, approved: false });
    expect(await errorOf(again)).toMatchObject({ status: 409, code: 'APPROVAL_ALREADY_RESOLVED' });
    await postJson(`${server.url}/sessions/${session.sessionId}/tool-result`, {
      callId: confirm,
      result: true,
    });
    expect(eventOf(await session.reader.rest(), 'final').payload.result).toBe('deleted 7');
    const late = await session.decide({ callId: session.callId, approved: true });
    expect(await errorOf(late)).toMatchObject({ status: 409, code: 'SESSION_ENDED' });
  });
});

describe('approvals with authentication', () => {
  const TOKENS: Record<string, AuthResult> = {
    'alice-token': { valid: true, userId: 'alice', tenantId: 'acme' },
    'carol-token': { valid: true, userId: 'carol', tenantId: 'acme', permissions: ['admin'] },
    'bob-token': { valid: true, userId: 'bob', tenantId: 'globex' },
  };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it('records the authenticated user who decided, and hides the session from other tenants', async () => {
    await using server = await startTestBroker({
      authentication: { type: 'bearer', validate: async (token) => TOKENS[token] ?? { valid: false } },
    });
    withDeleteUser(server.broker);
    const session = await startUntilApproval(server.url, DELETE_AND_REPORT, bearer('alice-token'));

    const anonymous = await session.decide({ callId: session.callId, approved: true }, {});
    expect(await errorOf(anonymous)).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    const otherTenant = await session.decide({ callId: session.callId, approved: true }, bearer('bob-token'));
    expect(await errorOf(otherTenant)).toMatchObject({ status: 404, code: 'SESSION_NOT_FOUND' });

    // A colleague of the same tenant approves.
    const approved = await session.decide({ callId: session.callId, approved: true }, bearer('carol-token'));
    expect(approved.status).toBe(200);
    const rest = await session.reader.rest();
    expect(eventOf(rest, 'approval_resolved').payload).toMatchObject({
      approved: true,
      decidedBy: { userId: 'carol', tenantId: 'acme' },
    });
    expect(eventOf(rest, 'final').payload.result).toBe('deleted 7');
  });
});

describe('approvals in an encrypted session', () => {
  /** An encrypted session over HTTP, read and opened up to its `approval_required`. */
  async function startEncrypted(url: string, code: string) {
    const keyPair = await generateKeyPair();
    const response = await postJson(`${url}/execute`, {
      code,
      encryption: { publicKey: await exportPublicKey(keyPair.publicKey) },
    });
    if (response.body === null) throw new Error('no body');
    const sessionId = response.headers.get('x-session-id') ?? '';
    const lines = readNDJSON<WireEvent>(response.body)[Symbol.asyncIterator]();
    const init = (await lines.next()).value as WireEvent;
    const cipher = await clientCipherFor(keyPair, init);
    const wire: WireEvent[] = [init];
    const next = async (): Promise<StreamEvent> => {
      const line = await lines.next();
      if (line.done === true) throw new Error('the stream ended');
      wire.push(line.value);
      return line.value.type === 'encrypted' ? cipher.openEvent(line.value) : line.value;
    };
    const events: StreamEvent[] = [];
    while (events.at(-1)?.type !== 'approval_required') events.push(await next());
    const callId = eventOf(events, 'approval_required').payload.callId;
    const decide = (body: unknown) => postJson(`${url}/sessions/${sessionId}/approvals`, body);
    const untilFinal = async (): Promise<StreamEvent[]> => {
      while (events.at(-1)?.type !== 'final') events.push(await next());
      return events;
    };
    /** Reads until the code calls `confirm`, and answers it with a sealed `true`. */
    const confirm = async (): Promise<void> => {
      for (;;) {
        const event = await next();
        events.push(event);
        if (event.type === 'tool_call' && event.payload.toolName === 'confirm') {
          const callId = event.payload.callId;
          const sealed = await cipher.sealMessage({ callId, result: true });
          await postJson(`${url}/sessions/${sessionId}/tool-result`, { callId, encrypted: sealed });
          return;
        }
      }
    };
    return { sessionId, cipher, wire, events, callId, decide, untilFinal, confirm };
  }

  it('seals the approval events like every other, and takes a sealed decision', async () => {
    await using server = await startTestBroker();
    const deleted = withDeleteUser(server.broker);
    const session = await startEncrypted(server.url, DELETE_AND_REPORT);
    // On the wire the approval request is sealed: neither its type nor its arguments show.
    expect(session.wire.slice(1).map((event) => event.type)).toEqual(['encrypted', 'encrypted']);
    expect(JSON.stringify(session.wire)).not.toContain('deleteUser');
    expect(eventOf(session.events, 'approval_required').payload.args).toEqual({ id: '7' });

    const sealed = await session.cipher.sealMessage({
      type: 'approval',
      callId: session.callId,
      approved: true,
    });
    const answer = await session.decide({ callId: session.callId, encrypted: sealed });
    expect(await answer.json()).toEqual({ success: true });
    const events = await session.untilFinal();
    expect(eventOf(events, 'approval_resolved').payload.approved).toBe(true);
    expect(eventOf(events, 'final').payload.result).toBe('deleted 7');
    expect(deleted).toEqual(['7']);
  });

  it('refuses a plain, tampered, replayed or misdirected decision with 400 ENCRYPTION_ERROR', async () => {
    await using server = await startTestBroker();
    const deleted = withDeleteUser(server.broker);
    const session = await startEncrypted(server.url, DELETE_THEN_CONFIRM);
    const plain = await session.decide({ callId: session.callId, approved: true });
    expect(await errorOf(plain)).toMatchObject({ status: 400, code: 'ENCRYPTION_ERROR' });
    expect(await server.broker.getSession(session.sessionId)).toMatchObject({
      pendingApprovals: [session.callId],
    });
    expect(
      await rejectionOf(server.broker.submitApproval(session.sessionId, session.callId, true)),
    ).toMatchObject({
      code: 'ENCRYPTION_ERROR',
    });

    const genuine = await session.cipher.sealMessage({
      type: 'approval',
      callId: session.callId,
      approved: true,
    });
    const flipped = (genuine.ciphertext[0] === 'A' ? 'B' : 'A') + genuine.ciphertext.slice(1);
    const tampered = await session.decide({
      callId: session.callId,
      encrypted: { ...genuine, ciphertext: flipped },
    });
    expect(await errorOf(tampered)).toMatchObject({ status: 400, code: 'ENCRYPTION_ERROR' });
    const otherCall = await session.cipher.sealMessage({
      type: 'approval',
      callId: 'call_other',
      approved: true,
    });
    const misdirected = await session.decide({ callId: session.callId, encrypted: otherCall });
    expect(await errorOf(misdirected)).toMatchObject({ status: 400, code: 'ENCRYPTION_ERROR' });
    // A sealed tool result is not a decision.
    const toolResult = await session.cipher.sealMessage({ callId: session.callId, result: true });
    const wrongKind = await session.decide({ callId: session.callId, encrypted: toolResult });
    expect(await errorOf(wrongKind)).toMatchObject({ status: 400, code: 'ENCRYPTION_ERROR' });
    expect(deleted).toEqual([]);

    const denial = await session.cipher.sealMessage({
      type: 'approval',
      callId: session.callId,
      approved: false,
      reason: 'Not without a ticket',
    });
    expect((await session.decide({ callId: session.callId, encrypted: denial })).status).toBe(200);
    // The session runs on (it waits on confirm), so the replay reaches the decryption.
    const replayed = await session.decide({ callId: session.callId, encrypted: denial });
    expect(await errorOf(replayed)).toMatchObject({ status: 400, code: 'ENCRYPTION_ERROR' });
    await session.confirm();
    const events = await session.untilFinal();
    expect(eventOf(events, 'final').payload.result).toBe(
      'APPROVAL_DENIED: The call of tool deleteUser was denied: Not without a ticket',
    );
    expect(deleted).toEqual([]);
  });
});
