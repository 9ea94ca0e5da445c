import type { StreamEvent } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type ExecutionContext, ToolRegistry } from '../src/index.js';
import { collect, eventOf, readUntil, rejectionOf, testBroker, thrownBy, typesOf } from './broker-helpers.js';

/** Code that calls `expression` and returns what it got, or the error's code and message. */
const outcomeOf = (expression: string) => `
  try {
    return { ok: true, value: await ${expression} };
  } catch (error) {
    return { ok: false, code: error.code, message: error.message };
  }
`;

/** A session started with `broker.execute`, read up to its first `approval_required`. */
async function untilApproval(events: AsyncIterable<StreamEvent>) {
  const iterator = events[Symbol.asyncIterator]();
  const read = await readUntil(iterator, (event) => event.type === 'approval_required');
  const required = eventOf(read, 'approval_required');
  const rest = async (): Promise<StreamEvent[]> => {
    const more: StreamEvent[] = [];
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) return [...read, ...more];
      more.push(next.value);
    }
  };
  return { read, required, sessionId: required.sessionId, callId: required.payload.callId, rest };
}

/** A broker with `deleteUser` (always needs approval) and `transfer` (above 100 needs approval). */
function bankBroker(options: Parameters<typeof testBroker>[0] = {}) {
  const broker = testBroker(options);
  const deleted: string[] = [];
  const transfers: number[] = [];
  const decisions: { args: unknown; context: ExecutionContext }[] = [];
  broker.tool('deleteUser', {
    description: 'Delete a user',
    argsSchema: z.object({ id: z.string() }),
    requiresApproval: true,
    handler: async ({ id }) => {
      deleted.push(id);
      return { deleted: id };
    },
  });
  broker.tool('transfer', {
    description: 'Move money',
    argsSchema: z.object({ amount: z.number().positive(), currency: z.string().default('EUR') }),
    requiresApproval: (args, context) => {
      decisions.push({ args, context });
      return args.amount > 100;
    },
    handler: async ({ amount, currency }) => {
      transfers.push(amount);
      return `${amount} ${currency} sent`;
    },
  });
  return { broker, deleted, transfers, decisions };
}

describe('a tool that requires approval', () => {
  it('streams approval_required after its tool_call, waits, and runs once approved', async () => {
    const { broker, deleted } = bankBroker();
    const session = await untilApproval(broker.execute(`return await tools.deleteUser({ id: '7' })`));
    expect(typesOf(session.read)).toEqual(['session_init', 'tool_call', 'approval_required']);
    expect(session.required.payload).toEqual({
      callId: eventOf(session.read, 'tool_call').payload.callId,
      toolName: 'deleteUser',
      args: { id: '7' },
      expiresAt: expect.any(Number),
    });
    const waiting = await broker.getSession(session.sessionId);
    expect(waiting).toMatchObject({
      status: 'running',
      pendingApprovals: [session.callId],
      pendingToolCalls: [],
    });
    expect(deleted).toEqual([]);

    await broker.submitApproval(session.sessionId, session.callId, true);
    const events = await session.rest();
    expect(typesOf(events)).toEqual([
      'session_init',
      'tool_call',
      'approval_required',
      'approval_resolved',
      'tool_result_applied',
      'final',
    ]);
    expect(eventOf(events, 'approval_resolved').payload).toEqual({
      callId: session.callId,
      toolName: 'deleteUser',
      approved: true,
      waitedMs: expect.any(Number),
    });
    expect(eventOf(events, 'final').payload).toMatchObject({ ok: true, result: { deleted: '7' } });
    expect(deleted).toEqual(['7']);
    expect(await broker.getSession(session.sessionId)).toMatchObject({ pendingApprovals: [] });
  });

  it('throws APPROVAL_DENIED with the reason inside the code when denied, and never runs the tool', async () => {
    const { broker, deleted } = bankBroker();
    const session = await untilApproval(broker.execute(outcomeOf(`tools.deleteUser({ id: '7' })`)));
    await broker.submitApproval(session.sessionId, session.callId, false, 'Bob is still on the team');
    const events = await session.rest();
    expect(eventOf(events, 'approval_resolved').payload).toMatchObject({
      approved: false,
      reason: 'Bob is still on the team',
    });
    expect(eventOf(events, 'tool_result_applied').payload).toMatchObject({
      ok: false,
      error: { code: 'APPROVAL_DENIED' },
    });
    expect(eventOf(events, 'final').payload.result).toEqual({
      ok: false,
      code: 'APPROVAL_DENIED',
      message: 'The call of tool deleteUser was denied: Bob is still on the team',
    });
    expect(deleted).toEqual([]);
  });

  it('ends a session that does not catch the denial with APPROVAL_DENIED', async () => {
    const { broker } = bankBroker();
    const session = await untilApproval(broker.execute(`await tools.deleteUser({ id: '7' }); return 'done'`));
    await broker.submitApproval(session.sessionId, session.callId, false);
    const events = await session.rest();
    expect(typesOf(events).slice(-2)).toEqual(['error', 'final']);
    expect(eventOf(events, 'final').payload).toMatchObject({
      ok: false,
      error: { code: 'APPROVAL_DENIED', message: 'The call of tool deleteUser was denied' },
    });
  });

  it('fails the call with APPROVAL_TIMEOUT when no decision arrives within approvalTimeout', async () => {
    const { broker, deleted } = bankBroker({ approvalTimeout: 300 });
    // After the timeout the code waits on a client tool, so the session is still running when a late
    // decision arrives.
    const iterator = broker
      .execute(
        `let outcome;
         try { outcome = await tools.deleteUser({ id: '7' }); } catch (error) { outcome = error.code + ': ' + error.message; }
         await tools.askUser({});
         return outcome;`,
      )
      [Symbol.asyncIterator]();
    const read = await readUntil(
      iterator,
      (event) => event.type === 'tool_call' && event.payload.toolName === 'askUser',
    );
    expect(typesOf(read)).toEqual([
      'session_init',
      'tool_call',
      'approval_required',
      'approval_resolved',
      'tool_result_applied',
      'tool_call',
    ]);
    expect(eventOf(read, 'approval_resolved').payload).toMatchObject({ approved: false, timedOut: true });
    expect(eventOf(read, 'tool_result_applied').payload.error?.code).toBe('APPROVAL_TIMEOUT');
    const sessionId = read[0]?.sessionId ?? '';
    const callId = eventOf(read, 'approval_required').payload.callId;
    expect(await rejectionOf(broker.submitApproval(sessionId, callId, true))).toMatchObject({
      code: 'APPROVAL_ALREADY_RESOLVED',
    });
    const asked = read.at(-1);
    if (asked?.type !== 'tool_call') throw new Error('expected the askUser call');
    await broker.submitToolResult(sessionId, asked.payload.callId, 'ok');
    const events = await collect({ [Symbol.asyncIterator]: () => iterator });
    expect(eventOf(events, 'final').payload.result).toBe(
      'APPROVAL_TIMEOUT: Tool deleteUser got no decision on its approval within 300 ms',
    );
    expect(deleted).toEqual([]);
  });

  it('gives an approved tool its whole tool timeout after the wait', async () => {
    const broker = testBroker({ limits: { toolTimeout: 300 }, approvalTimeout: 10_000 });
    broker.tool('slowDelete', {
      description: 'Takes a while',
      argsSchema: z.object({}),
      requiresApproval: true,
      handler: async () => {
        await new Promise((resolve) => setTimeout(resolve, 150));
        return 'deleted';
      },
    });
    const session = await untilApproval(broker.execute(`return await tools.slowDelete({})`));
    // Longer than the tool timeout: the wait for a person does not count against it.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await broker.submitApproval(session.sessionId, session.callId, true);
    const events = await session.rest();
    expect(eventOf(events, 'final').payload).toMatchObject({ ok: true, result: 'deleted' });
  });

  it('asks a predicate with the parsed arguments and the call context; only calls it approves of wait', async () => {
    const { broker, transfers, decisions } = bankBroker();
    const small = await collect(broker.execute(`return await tools.transfer({ amount: 20 })`));
    expect(typesOf(small)).toEqual(['session_init', 'tool_call', 'tool_result_applied', 'final']);
    expect(eventOf(small, 'final').payload.result).toBe('20 EUR sent');
    expect(decisions[0]?.args).toEqual({ amount: 20, currency: 'EUR' });
    expect(decisions[0]?.context).toMatchObject({
      sessionId: eventOf(small, 'final').sessionId,
      callId: eventOf(small, 'tool_call').payload.callId,
      toolName: 'transfer',
      context: {},
    });
    expect(decisions[0]?.context.signal).toBeInstanceOf(AbortSignal);

    const large = await untilApproval(
      broker.execute(`return await tools.transfer({ amount: 500, currency: 'USD' })`),
    );
    expect(large.required.payload.args).toEqual({ amount: 500, currency: 'USD' });
    expect(transfers).toEqual([20]);
    await broker.submitApproval(large.sessionId, large.callId, true, 'Expected invoice');
    expect(eventOf(await large.rest(), 'final').payload.result).toBe('500 USD sent');
    expect(transfers).toEqual([20, 500]);
  });

  it('checks the arguments before asking: invalid ones fail with TOOL_VALIDATION_ERROR and nobody is asked', async () => {
    const { broker, decisions } = bankBroker();
    const events = await collect(broker.execute(outcomeOf(`tools.deleteUser({ id: 7 })`)));
    expect(typesOf(events)).toEqual(['session_init', 'tool_call', 'tool_result_applied', 'final']);
    expect(eventOf(events, 'final').payload.result).toMatchObject({
      ok: false,
      code: 'TOOL_VALIDATION_ERROR',
    });
    const transfer = await collect(broker.execute(outcomeOf(`tools.transfer({ amount: -5 })`)));
    expect(eventOf(transfer, 'final').payload.result).toMatchObject({
      ok: false,
      code: 'TOOL_VALIDATION_ERROR',
    });
    expect(decisions).toEqual([]);
  });

  it('fails the call with TOOL_ERROR when the predicate throws, without running the tool', async () => {
    const broker = testBroker();
    let ran = false;
    broker.tool('fragile', {
      description: 'A tool whose approval rule is broken',
      argsSchema: z.object({}),
      requiresApproval: () => {
        throw new Error('the rules service is down');
      },
      handler: async () => {
        ran = true;
      },
    });
    const events = await collect(broker.execute(outcomeOf(`tools.fragile({})`)));
    expect(typesOf(events)).not.toContain('approval_required');
    expect(eventOf(events, 'final').payload.result).toEqual({
      ok: false,
      code: 'TOOL_ERROR',
      message: 'requiresApproval of tool fragile failed: the rules service is down',
    });
    expect(ran).toBe(false);
  });

  it('asks for approval when a predicate forgets to return false', async () => {
    const broker = testBroker();
    broker.tool('sloppy', {
      description: 'A predicate without a return',
      argsSchema: z.object({}),
      requiresApproval: (() => undefined) as unknown as () => boolean,
      handler: async () => 'ran',
    });
    const session = await untilApproval(broker.execute(`return await tools.sloppy({})`));
    await broker.submitApproval(session.sessionId, session.callId, true);
    expect(eventOf(await session.rest(), 'final').payload.result).toBe('ran');
  });

  it('works for ParameterDef tools and JSON Schema tools too', async () => {
    const tools = new ToolRegistry();
    tools.register({
      name: 'users:delete',
      description: 'Delete a user',
      parameters: { id: { type: 'string', description: 'Who', required: true } },
      requiresApproval: true,
      handler: async (args) => `deleted ${String(args.id)}`,
    });
    tools.registerJsonSchemaTool('mail_send', {
      description: 'Send an e-mail',
      inputSchema: { type: 'object', properties: { to: { type: 'string' } }, required: ['to'] },
      requiresApproval: (args) => !String(args.to).endsWith('@example.com'),
      handler: async (args) => `sent to ${String(args.to)}`,
    });
    expect(tools.get('users:delete')?.requiresApproval).toBe(true);
    const broker = testBroker({ tools });
    const deletion = await untilApproval(
      broker.execute(`return await callTool('users:delete', { id: '3' })`),
    );
    await broker.submitApproval(deletion.sessionId, deletion.callId, true);
    expect(eventOf(await deletion.rest(), 'final').payload.result).toBe('deleted 3');

    const internal = await collect(broker.execute(`return await tools.mail_send({ to: 'ada@example.com' })`));
    expect(typesOf(internal)).not.toContain('approval_required');
    const external = await untilApproval(
      broker.execute(outcomeOf(`tools.mail_send({ to: 'eve@elsewhere.org' })`)),
    );
    await broker.submitApproval(external.sessionId, external.callId, false, 'Not to outsiders');
    expect(eventOf(await external.rest(), 'final').payload.result).toMatchObject({
      ok: false,
      code: 'APPROVAL_DENIED',
    });
  });

  it('waits for several approvals at once and resolves each on its own', async () => {
    const { broker, deleted } = bankBroker();
    const iterator = broker
      .execute(
        outcomeOf(`Promise.allSettled([tools.deleteUser({ id: 'a' }), tools.deleteUser({ id: 'b' })])`),
      )
      [Symbol.asyncIterator]();
    const read: StreamEvent[] = [];
    while (read.filter((event) => event.type === 'approval_required').length < 2) {
      read.push(...(await readUntil(iterator, (event) => event.type === 'approval_required')));
    }
    const [first, second] = read.filter((event) => event.type === 'approval_required');
    if (first?.type !== 'approval_required' || second?.type !== 'approval_required')
      throw new Error('two approvals');
    expect((await broker.getSession(first.sessionId))?.pendingApprovals).toEqual([
      first.payload.callId,
      second.payload.callId,
    ]);
    await broker.submitApproval(first.sessionId, second.payload.callId, false);
    expect((await broker.getSession(first.sessionId))?.pendingApprovals).toEqual([first.payload.callId]);
    await broker.submitApproval(first.sessionId, first.payload.callId, true);
    const events: StreamEvent[] = [];
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next())
      events.push(next.value);
    const settled = eventOf(events, 'final').payload.result as { value: { status: string }[] };
    expect(settled.value.map((entry) => entry.status)).toEqual(['fulfilled', 'rejected']);
    expect(deleted).toEqual(['a']);
  });

  it('ends a session cancelled while it waits, without running the tool', async () => {
    const { broker, deleted } = bankBroker();
    const session = await untilApproval(broker.execute(`return await tools.deleteUser({ id: '7' })`));
    await broker.cancelSession(session.sessionId);
    const events = await session.rest();
    expect(typesOf(events).slice(-2)).toEqual(['error', 'final']);
    expect(eventOf(events, 'final').payload.error?.code).toBe('CANCELLED');
    expect(await broker.getSession(session.sessionId)).toMatchObject({ pendingApprovals: [] });
    expect(deleted).toEqual([]);
  });
});

describe('refused decisions', () => {
  it('refuses an unknown call, a call that waits for no approval, a second decision, and one after the end', async () => {
    const { broker } = bankBroker();
    const iterator = broker
      .execute(
        `const name = await tools.askUser({});
         return await tools.deleteUser({ id: name });`,
      )
      [Symbol.asyncIterator]();
    const asked = eventOf(await readUntil(iterator, (event) => event.type === 'tool_call'), 'tool_call');
    const sessionId = asked.sessionId;
    // A client tool call waits for a result, not for approval.
    expect(await rejectionOf(broker.submitApproval(sessionId, asked.payload.callId, true))).toMatchObject({
      code: 'APPROVAL_NOT_FOUND',
    });
    await broker.submitToolResult(sessionId, asked.payload.callId, '7');
    const required = eventOf(
      await readUntil(iterator, (event) => event.type === 'approval_required'),
      'approval_required',
    );
    const unknown = await rejectionOf(broker.submitApproval(sessionId, 'call_nope', true));
    expect(unknown).toMatchObject({
      code: 'APPROVAL_NOT_FOUND',
      message: `Session ${sessionId} has no tool call call_nope waiting for approval`,
    });
    await broker.submitApproval(sessionId, required.payload.callId, true);
    expect(await rejectionOf(broker.submitApproval(sessionId, required.payload.callId, false))).toMatchObject(
      {
        code: 'APPROVAL_ALREADY_RESOLVED',
      },
    );
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next());
    expect(await rejectionOf(broker.submitApproval(sessionId, required.payload.callId, true))).toMatchObject({
      code: 'SESSION_ENDED',
    });
    expect(await rejectionOf(broker.submitApproval('ses_unknown', 'call_1', true))).toMatchObject({
      code: 'SESSION_NOT_FOUND',
    });
  });

  it('refuses a decision that is not a boolean, or a reason that is too long', async () => {
    const { broker } = bankBroker();
    const session = await untilApproval(broker.execute(`return await tools.deleteUser({ id: '7' })`));
    expect(
      await rejectionOf(
        broker.submitApproval(session.sessionId, session.callId, 'yes' as unknown as boolean),
      ),
    ).toMatchObject({ code: 'VALIDATION_ERROR' });
    expect(
      await rejectionOf(broker.submitApproval(session.sessionId, session.callId, false, 'x'.repeat(10_001))),
    ).toMatchObject({ code: 'VALIDATION_ERROR' });
    // Nothing was decided: the call still waits.
    await broker.submitApproval(session.sessionId, session.callId, true);
    expect(eventOf(await session.rest(), 'final').payload.ok).toBe(true);
  });
});

describe('server-side approval workflows', () => {
  it('emits approval:required and approval:resolved, and takes decisions made in a listener', async () => {
    const { broker, deleted } = bankBroker();
    const seen: string[] = [];
    broker.on('approval:required', (session, tool, args, { callId }) => {
      seen.push(`required ${tool} ${JSON.stringify(args)}`);
      void broker.submitApproval(session.id, callId, (args as { id: string }).id !== 'root', 'policy');
    });
    broker.on('approval:resolved', (_session, tool, resolution) => {
      seen.push(`resolved ${tool} ${resolution.approved} ${resolution.reason} ${resolution.timedOut}`);
    });
    const events = await collect(
      broker.execute(
        outcomeOf(`Promise.allSettled([tools.deleteUser({ id: '7' }), tools.deleteUser({ id: 'root' })])`),
      ),
    );
    expect(eventOf(events, 'final').payload.ok).toBe(true);
    expect(deleted).toEqual(['7']);
    expect(seen.toSorted()).toEqual([
      'required deleteUser {"id":"7"}',
      'required deleteUser {"id":"root"}',
      'resolved deleteUser false policy false',
      'resolved deleteUser true policy false',
    ]);
  });
});

describe('declarations and documentation', () => {
  it('tell a model which tools wait for approval', () => {
    const { broker } = bankBroker();
    const declarations = broker.tools.getTypeDeclarations();
    expect(declarations).toContain(
      "Waits for a person's approval before it runs; rejects with code APPROVAL_DENIED (or APPROVAL_TIMEOUT) when it is not given.",
    );
    expect(declarations).toContain("May wait for a person's approval before it runs;");
    expect(broker.tools.getDocumentation()).toContain("Waits for a person's approval before it runs;");
  });
});

describe('configuration', () => {
  it('refuses a requiresApproval that is neither a boolean nor a function, and a bad approvalTimeout', () => {
    const broker = testBroker();
    expect(
      thrownBy(() =>
        broker.tool('odd', {
          description: 'x',
          argsSchema: z.object({}),
          requiresApproval: 'yes' as unknown as boolean,
          handler: async () => undefined,
        }),
      ),
    ).toMatchObject({
      code: 'CONFIGURATION_ERROR',
      message: 'Tool odd: requiresApproval must be a boolean or a function (args, context) => boolean',
    });
    expect(thrownBy(() => testBroker({ approvalTimeout: 0 }))).toMatchObject({
      code: 'CONFIGURATION_ERROR',
      message: 'approvalTimeout must be a positive integer, got 0',
    });
    expect(testBroker().settings.approvalTimeout).toBe(30_000);
    expect(testBroker({ limits: { toolTimeout: 4000 } }).settings.approvalTimeout).toBe(4000);
  });
});
