import type { EnclaveBroker } from '@enclave-vm/broker';
import { describe, expect, it } from 'vitest';
import {
  type ApprovalContext,
  type ApprovalRequest,
  createSessionStore,
  type EnclaveError,
  type SessionSnapshot,
} from '../src/index.js';
import { startBroker, until } from './test-broker.js';

/** Registers `deleteUser` (always needs approval) and returns the ids it deleted. */
function bank(deleted: string[]) {
  return (broker: EnclaveBroker): void => {
    broker.tools.register({
      name: 'deleteUser',
      description: 'Delete a user',
      parameters: { id: { type: 'string', description: 'Who', required: true } },
      requiresApproval: true,
      handler: async ({ id }) => {
        deleted.push(String(id));
        return `deleted ${String(id)}`;
      },
    });
  };
}

const DELETE_AND_REPORT = `
  try {
    return await tools.deleteUser({ id: '7' });
  } catch (error) {
    return error.code + ': ' + error.message;
  }
`;

/** Resolves with the first snapshot that satisfies `predicate`. */
function snapshotWhere(
  store: { subscribe(listener: () => void): () => void; getSnapshot(): SessionSnapshot },
  predicate: (snapshot: SessionSnapshot) => boolean,
): Promise<SessionSnapshot> {
  return new Promise((resolve) => {
    const check = (): boolean => {
      const snapshot = store.getSnapshot();
      if (!predicate(snapshot)) return false;
      unsubscribe();
      resolve(snapshot);
      return true;
    };
    const unsubscribe = store.subscribe(() => {
      check();
    });
    check();
  });
}

describe('onApproval', () => {
  it('is asked with the call and its answer lets the tool run', async () => {
    const deleted: string[] = [];
    await using server = await startBroker({}, bank(deleted));
    const requests: ApprovalRequest[] = [];
    const session = server.client().execute(DELETE_AND_REPORT, {
      onApproval: async (request) => {
        requests.push(request);
        return true;
      },
    });
    expect(await session.result).toMatchObject({ ok: true, result: 'deleted 7' });
    expect(requests).toEqual([
      {
        sessionId: session.sessionId,
        callId: expect.any(String),
        toolName: 'deleteUser',
        args: { id: '7' },
        expiresAt: expect.any(Number),
        seq: 3,
      },
    ]);
    expect(deleted).toEqual(['7']);
    const snapshot = session.store.getSnapshot();
    expect(snapshot.pendingApprovals).toEqual([]);
    expect(snapshot.toolCalls[0]).toMatchObject({
      toolName: 'deleteUser',
      status: 'completed',
      approval: { status: 'approved', expiresAt: requests[0]?.expiresAt },
    });
    expect(session.events.map((event) => event.type)).toEqual([
      'session_init',
      'tool_call',
      'approval_required',
      'approval_resolved',
      'tool_result_applied',
      'final',
    ]);
  });

  it('denies with a reason the code sees, and the store keeps the decision', async () => {
    const deleted: string[] = [];
    await using server = await startBroker({}, bank(deleted));
    const session = server.client().execute(DELETE_AND_REPORT, {
      onApproval: () => ({ approved: false, reason: 'Ticket missing' }),
    });
    expect((await session.result).result).toBe(
      'APPROVAL_DENIED: The call of tool deleteUser was denied: Ticket missing',
    );
    expect(session.store.getSnapshot().toolCalls[0]).toMatchObject({
      status: 'error',
      error: { code: 'APPROVAL_DENIED' },
      approval: { status: 'denied', reason: 'Ticket missing' },
    });
    expect(deleted).toEqual([]);
  });

  it('denies when the handler throws or answers something else, and reports the error', async () => {
    const deleted: string[] = [];
    await using server = await startBroker({}, bank(deleted));
    const errors: EnclaveError[] = [];
    const thrown = server.client().execute(DELETE_AND_REPORT, {
      onApproval: () => {
        throw new Error('the dialog crashed');
      },
      onError: (error) => errors.push(error),
    });
    expect((await thrown.result).result).toBe(
      'APPROVAL_DENIED: The call of tool deleteUser was denied: onApproval failed: the dialog crashed',
    );
    expect(errors.map((error) => error.message)).toEqual([
      expect.stringMatching(/^onApproval threw while deciding tool call /),
    ]);
    const odd = server.client().execute(DELETE_AND_REPORT, {
      onApproval: () => 'yes' as unknown as boolean,
    });
    expect((await odd.result).result).toBe('APPROVAL_DENIED: The call of tool deleteUser was denied');
    expect(deleted).toEqual([]);
  });

  it('aborts its signal when the approval is decided elsewhere, and sends nothing', async () => {
    const deleted: string[] = [];
    await using server = await startBroker({}, bank(deleted));
    const errors: EnclaveError[] = [];
    let context: ApprovalContext | undefined;
    let asked: ApprovalRequest | undefined;
    const session = server.client().execute(DELETE_AND_REPORT, {
      onApproval: (request, approvalContext) => {
        asked = request;
        context = approvalContext;
        // Waits for a person who never answers: a server-side workflow decides first.
        return new Promise<boolean>((resolve) =>
          approvalContext.signal.addEventListener('abort', () => resolve(true)),
        );
      },
      onError: (error) => errors.push(error),
    });
    await until(() => asked !== undefined);
    await server.broker.submitApproval(
      asked?.sessionId ?? '',
      asked?.callId ?? '',
      false,
      'Decided by policy',
    );
    expect((await session.result).result).toBe(
      'APPROVAL_DENIED: The call of tool deleteUser was denied: Decided by policy',
    );
    expect(context?.signal.aborted).toBe(true);
    expect(errors).toEqual([]);
    expect(deleted).toEqual([]);
  });
});

describe('deciding from the store or the handle', () => {
  it('lists pendingApprovals and takes approve(callId) and deny(callId, reason)', async () => {
    const deleted: string[] = [];
    await using server = await startBroker({}, bank(deleted));
    const store = createSessionStore();
    const session = server.client().execute(
      `const results = await Promise.allSettled([tools.deleteUser({ id: 'a' }), tools.deleteUser({ id: 'b' })]);
       return results.map((entry) => entry.status === 'fulfilled' ? entry.value : entry.reason.code);`,
      { store },
    );
    const waiting = await snapshotWhere(store, (snapshot) => snapshot.pendingApprovals.length === 2);
    const [first, second] = waiting.pendingApprovals;
    expect(first).toMatchObject({ toolName: 'deleteUser', args: { id: 'a' }, sessionId: session.sessionId });
    expect(waiting.toolCalls.map((call) => call.approval?.status)).toEqual(['pending', 'pending']);

    await store.approve(first?.callId ?? '');
    // The session still waits for b: a second decision on a is refused as such.
    await expect(store.approve(first?.callId ?? '')).rejects.toMatchObject({
      code: 'APPROVAL_ALREADY_RESOLVED',
    });
    await session.deny(second?.callId ?? '', 'Not b');
    expect((await session.result).result).toEqual(['deleted a', 'APPROVAL_DENIED']);
    expect(deleted).toEqual(['a']);
    const done = store.getSnapshot();
    expect(done.pendingApprovals).toEqual([]);
    expect(done.toolCalls.map((call) => call.approval)).toEqual([
      { status: 'approved', expiresAt: first?.expiresAt },
      { status: 'denied', expiresAt: second?.expiresAt, reason: 'Not b' },
    ]);
    await expect(session.approve(first?.callId ?? '')).rejects.toMatchObject({ code: 'SESSION_ENDED' });
  });

  it('refuses an unknown call, and a store that records no session', async () => {
    const deleted: string[] = [];
    await using server = await startBroker({}, bank(deleted));
    await expect(createSessionStore().approve('call_1')).rejects.toMatchObject({
      code: 'APPROVAL_NOT_FOUND',
    });
    const session = server.client().execute(DELETE_AND_REPORT);
    const waiting = await snapshotWhere(session.store, (snapshot) => snapshot.pendingApprovals.length === 1);
    await expect(session.approve('call_nope')).rejects.toMatchObject({ code: 'APPROVAL_NOT_FOUND' });
    await session.store.approve(waiting.pendingApprovals[0]?.callId ?? '');
    expect((await session.result).result).toBe('deleted 7');
  });

  it('shows an approval nobody decided as timed out', async () => {
    const deleted: string[] = [];
    await using server = await startBroker({ approvalTimeout: 200 }, bank(deleted));
    const session = server.client().execute(DELETE_AND_REPORT);
    expect((await session.result).result).toBe(
      'APPROVAL_TIMEOUT: Tool deleteUser got no decision on its approval within 200 ms',
    );
    expect(session.store.getSnapshot().toolCalls[0]?.approval?.status).toBe('timed_out');
  });
});

describe('approvals in an encrypted session', () => {
  it('seals the decisions of onApproval and of the store', async () => {
    const deleted: string[] = [];
    await using server = await startBroker({}, bank(deleted));
    const client = server.client({ encryption: true });
    const automatic = client.execute(DELETE_AND_REPORT, { onApproval: () => true });
    expect(await automatic.result).toMatchObject({ ok: true, result: 'deleted 7' });

    const manual = client.execute(DELETE_AND_REPORT);
    const waiting = await snapshotWhere(manual.store, (snapshot) => snapshot.pendingApprovals.length === 1);
    await manual.deny(waiting.pendingApprovals[0]?.callId ?? '', 'Sealed no');
    expect((await manual.result).result).toBe(
      'APPROVAL_DENIED: The call of tool deleteUser was denied: Sealed no',
    );
    expect(deleted).toEqual(['7']);
  });
});

describe('resume', () => {
  it('asks onApproval only for approvals still waiting', async () => {
    const deleted: string[] = [];
    await using server = await startBroker({}, bank(deleted));
    const client = server.client();
    const first = client.execute(
      `const a = await tools.deleteUser({ id: 'a' });
       const b = await tools.deleteUser({ id: 'b' });
       return [a, b];`,
    );
    const waiting = await snapshotWhere(first.store, (snapshot) => snapshot.pendingApprovals.length === 1);
    await first.approve(waiting.pendingApprovals[0]?.callId ?? '');
    await snapshotWhere(
      first.store,
      (snapshot) =>
        snapshot.pendingApprovals.length === 1 &&
        snapshot.pendingApprovals[0]?.args !== undefined &&
        (snapshot.pendingApprovals[0].args as { id: string }).id === 'b',
    );
    // A page reload: a new handle follows the session from the start.
    const asked: unknown[] = [];
    const resumed = client.resume(first.sessionId ?? '', 1, {
      onApproval: (request) => {
        asked.push(request.args);
        return true;
      },
    });
    expect(await resumed.result).toMatchObject({ ok: true, result: ['deleted a', 'deleted b'] });
    expect(asked).toEqual([{ id: 'b' }]);
    expect(deleted).toEqual(['a', 'b']);
  });
});
