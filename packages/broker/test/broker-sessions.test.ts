import type { StreamEvent } from '@enclave-vm/types';
import { EnclaveError } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  collect,
  eventOf,
  readUntil,
  rejectionOf,
  seqsAreContiguous,
  testBroker,
  typesOf,
} from './broker-helpers.js';

/** Code that waits for the client to answer `ask` `count` times, then returns the answers. */
function askingCode(count = 1): string {
  return `
    const answers = [];
    for (let index = 0; index < ${count}; index++) {
      console.log('asking ' + index);
      answers.push(await tools.ask({ index }));
    }
    return answers;
  `;
}

const isToolCall = (event: StreamEvent) => event.type === 'tool_call';

function callIdOf(event: StreamEvent | undefined): string {
  if (event?.type !== 'tool_call') throw new Error(`expected a tool_call, got ${event?.type}`);
  return event.payload.callId;
}

describe('client tools', () => {
  it('forwards unknown tools to the client and applies its results and errors', async () => {
    const broker = testBroker();
    const session = await broker.startSession({ code: askingCode(2) });
    expect(session.status).toBe('running');
    const iterator = broker.streamEvents(session.id)[Symbol.asyncIterator]();
    const first = await readUntil(iterator, isToolCall);
    const call = first.at(-1);
    expect(call).toMatchObject({ payload: { toolName: 'ask', args: { index: 0 }, answeredBy: 'client' } });
    expect((await broker.getSession(session.id))?.pendingToolCalls).toEqual([callIdOf(call)]);
    await broker.submitToolResult(session.id, callIdOf(call), 'first answer');

    const second = await readUntil(iterator, isToolCall);
    await broker.submitToolResult(session.id, callIdOf(second.at(-1)), undefined, {
      message: 'the user declined',
      code: 'FORBIDDEN',
    });
    const rest = await collect({ [Symbol.asyncIterator]: () => iterator });
    const events = [...first, ...second, ...rest];
    expect(seqsAreContiguous(events)).toBe(true);
    const applied = events.filter((event) => event.type === 'tool_result_applied');
    expect(applied.map((event) => event.payload)).toMatchObject([
      { ok: true, result: 'first answer' },
      { ok: false, error: { code: 'FORBIDDEN', message: 'the user declined' } },
    ]);
    expect(typesOf(events).slice(-2)).toEqual(['error', 'final']);
    expect(eventOf(events, 'final').payload.error?.code).toBe('FORBIDDEN');
  });

  it('refuses an unknown call id, a second answer and an answer after the end', async () => {
    const broker = testBroker();
    const session = await broker.startSession({ code: askingCode(1) });
    const iterator = broker.streamEvents(session.id)[Symbol.asyncIterator]();
    const callId = callIdOf((await readUntil(iterator, isToolCall)).at(-1));

    const unknown = await rejectionOf(broker.submitToolResult(session.id, 'call_unknown', 1));
    expect(unknown.code).toBe('TOOL_CALL_NOT_FOUND');
    await broker.submitToolResult(session.id, callId, 'yes');
    const second = await rejectionOf(broker.submitToolResult(session.id, callId, 'again'));
    expect(second.code).toBe('TOOL_CALL_ALREADY_ANSWERED');
    await collect({ [Symbol.asyncIterator]: () => iterator });
    const late = await rejectionOf(broker.submitToolResult(session.id, callId, 'late'));
    expect(late.code).toBe('SESSION_ENDED');
    const missing = await rejectionOf(broker.submitToolResult('ses_missing', callId, 'x'));
    expect(missing.code).toBe('SESSION_NOT_FOUND');
  });
});

describe('tool timeout and abort signals', () => {
  it('answers an unanswered client call and a hanging tool with TOOL_TIMEOUT, aborting the tool', async () => {
    const broker = testBroker({ limits: { toolTimeout: 200 } });
    let abortReason: unknown;
    broker.tool('hang', {
      description: 'Never answers',
      argsSchema: z.object({}),
      handler: (_args, executionContext) =>
        new Promise((_resolve, reject) => {
          executionContext.signal.addEventListener('abort', () => {
            abortReason = executionContext.signal.reason;
            reject(executionContext.signal.reason);
          });
        }),
    });
    const events = await collect(
      broker.execute(`
        const outcomes = await Promise.allSettled([tools.hang({}), tools.clientSide({})]);
        return outcomes.map((outcome) => outcome.reason.code);
      `),
    );
    expect(eventOf(events, 'final').payload).toMatchObject({
      ok: true,
      result: ['TOOL_TIMEOUT', 'TOOL_TIMEOUT'],
    });
    expect(EnclaveError.isInstance(abortReason) && abortReason.code).toBe('TOOL_TIMEOUT');
    const applied = events.filter((event) => event.type === 'tool_result_applied');
    expect(applied).toHaveLength(2);
    const callId = callIdOf(
      events.find((event) => event.type === 'tool_call' && event.payload.toolName === 'clientSide'),
    );
    const late = await rejectionOf(broker.submitToolResult(events[0]?.sessionId ?? '', callId, 'too late'));
    expect(late.code).toBe('SESSION_ENDED');
  });

  it('aborts a running tool when the session is cancelled', async () => {
    const broker = testBroker();
    const aborted = new Promise<unknown>((resolve) => {
      broker.tool('slow', {
        description: 'Waits to be aborted',
        argsSchema: z.object({}),
        handler: (_args, executionContext) =>
          new Promise(() => {
            executionContext.signal.addEventListener('abort', () => resolve(executionContext.signal.reason));
          }),
      });
    });
    const session = await broker.startSession({ code: 'return await tools.slow({})' });
    const iterator = broker.streamEvents(session.id)[Symbol.asyncIterator]();
    await readUntil(iterator, isToolCall);
    const cancelled = await broker.cancelSession(session.id);
    expect(cancelled.status).toBe('error');
    expect(cancelled.error?.code).toBe('CANCELLED');
    const reason = await aborted;
    expect(EnclaveError.isInstance(reason) && reason.code).toBe('CANCELLED');
    const rest = await collect({ [Symbol.asyncIterator]: () => iterator });
    expect(typesOf(rest)).toEqual(['error', 'final']);
    expect(eventOf(rest, 'error').payload).toMatchObject({ code: 'CANCELLED', recoverable: false });
    // Cancelling an ended session changes nothing.
    const again = await broker.cancelSession(session.id);
    expect(again.status).toBe('error');
    expect(again.lastSeq).toBe(rest.at(-1)?.seq);
    expect(again.error?.code).toBe('CANCELLED');
  });
});

describe('resume and filters', () => {
  it('replays from any seq, then continues live, with no loss and no duplicate', async () => {
    const broker = testBroker();
    const session = await broker.startSession({ code: askingCode(3) });
    const iterator = broker.streamEvents(session.id)[Symbol.asyncIterator]();
    const beforeFirstCall = await readUntil(iterator, isToolCall);
    await iterator.return?.();
    // The consumer left; the session goes on. A new consumer resumes after the last seen event.
    await broker.submitToolResult(session.id, callIdOf(beforeFirstCall.at(-1)), 0);
    const resumed = broker.streamEvents(session.id, { fromSeq: (beforeFirstCall.at(-1)?.seq ?? 0) + 1 });
    const resumedIterator = resumed[Symbol.asyncIterator]();
    const secondPart = await readUntil(resumedIterator, isToolCall);
    await broker.submitToolResult(session.id, callIdOf(secondPart.at(-1)), 1);
    const thirdPart = await readUntil(resumedIterator, isToolCall);
    await broker.submitToolResult(session.id, callIdOf(thirdPart.at(-1)), 2);
    const lastPart = await collect({ [Symbol.asyncIterator]: () => resumedIterator });
    const stitched = [...beforeFirstCall, ...secondPart, ...thirdPart, ...lastPart];
    expect(seqsAreContiguous(stitched)).toBe(true);
    expect(eventOf(stitched, 'final').payload.result).toEqual([0, 1, 2]);

    const all = await collect(broker.streamEvents(session.id));
    expect(all).toEqual(stitched);
    for (const fromSeq of [1, 2, 5, all.length, all.length + 1]) {
      expect(await collect(broker.streamEvents(session.id, { fromSeq }))).toEqual(all.slice(fromSeq - 1));
    }
  });

  it('releases a stream at once when its consumer leaves while waiting, without touching the session', async () => {
    const broker = testBroker();
    const session = await broker.startSession({ code: askingCode(1) });
    const iterator = broker.streamEvents(session.id)[Symbol.asyncIterator]();
    const callId = callIdOf((await readUntil(iterator, isToolCall)).at(-1));
    const waiting = iterator.next();
    await iterator.return?.();
    await expect(waiting).resolves.toEqual({ done: true, value: undefined });
    expect((await broker.getSession(session.id))?.status).toBe('running');
    await broker.submitToolResult(session.id, callId, 'still here');
    const events = await collect(broker.streamEvents(session.id));
    expect(eventOf(events, 'final').payload.result).toEqual(['still here']);
  });

  it('applies filters but always sends session_init and final', async () => {
    const broker = testBroker();
    const session = await broker.startSession({ code: 'console.log("one"); console.warn("two"); return 1' });
    const all = await collect(broker.streamEvents(session.id));
    expect(typesOf(all)).toEqual(['session_init', 'stdout', 'log', 'final']);
    const onlyLogs = await collect(broker.streamEvents(session.id, { filter: { types: ['log'] } }));
    expect(typesOf(onlyLogs)).toEqual(['session_init', 'log', 'final']);
    const noStdout = await collect(
      broker.streamEvents(session.id, { filter: { blockedTypes: ['stdout', 'session_init', 'final'] } }),
    );
    expect(typesOf(noStdout)).toEqual(['session_init', 'log', 'final']);
    const executed = await collect(
      broker.execute('console.log("x"); return 2', { filter: { types: ['final'] } }),
    );
    expect(typesOf(executed)).toEqual(['session_init', 'final']);
    const bad = await rejectionOf(
      collect(broker.streamEvents(session.id, { filter: { types: ['nope'] } as never })),
    );
    expect(bad.code).toBe('VALIDATION_ERROR');
    const badSeq = await rejectionOf(collect(broker.streamEvents(session.id, { fromSeq: 0 })));
    expect(badSeq.code).toBe('VALIDATION_ERROR');
  });

  it('reports EVENT_LOG_TRUNCATED when the requested events were dropped from the log', async () => {
    const broker = testBroker({ maxEventLogSize: 4 });
    const session = await broker.startSession({
      code: 'for (let i = 0; i < 6; i++) console.log(i); return 1',
    });
    const live = await collect(broker.streamEvents(session.id));
    expect(typesOf(live).at(-1)).toBe('final');
    const lastSeq = live.at(-1)?.seq ?? 0;
    const truncated = await rejectionOf(collect(broker.streamEvents(session.id)));
    expect(truncated.code).toBe('EVENT_LOG_TRUNCATED');
    expect(truncated.details).toEqual({ firstAvailableSeq: lastSeq - 3 });
    const kept = await collect(broker.streamEvents(session.id, { fromSeq: lastSeq - 3 }));
    expect(kept.map((event) => event.seq)).toEqual([lastSeq - 3, lastSeq - 2, lastSeq - 1, lastSeq]);
  });
});

describe('heartbeats, expiry and limits', () => {
  it('logs heartbeats while a session runs, numbered with the other events', async () => {
    const broker = testBroker({ heartbeatInterval: 20 });
    const session = await broker.startSession({ code: askingCode(1) });
    const iterator = broker.streamEvents(session.id)[Symbol.asyncIterator]();
    const untilCall = await readUntil(iterator, isToolCall);
    const heartbeats = await readUntil(iterator, (event) => event.type === 'heartbeat');
    const moreHeartbeats = await readUntil(iterator, (event) => event.type === 'heartbeat');
    await broker.submitToolResult(session.id, callIdOf(untilCall.at(-1)), 'done');
    const rest = await collect({ [Symbol.asyncIterator]: () => iterator });
    const events = [...untilCall, ...heartbeats, ...moreHeartbeats, ...rest];
    expect(seqsAreContiguous(events)).toBe(true);
    expect(events.filter((event) => event.type === 'heartbeat').length).toBeGreaterThanOrEqual(2);
    expect(typesOf(events).at(-1)).toBe('final');
    expect((await broker.getSession(session.id))?.lastSeq).toBe(events.at(-1)?.seq);
  });

  it('ends a session still running at expiry with SESSION_EXPIRED, then forgets it', async () => {
    // Long enough that the first session ends before it expires even on a loaded machine.
    const broker = testBroker({ sessionTimeout: 3_000 });
    // Warms the pool up so that the next session surely ends before it expires.
    await collect(broker.execute('return 0'));
    const ended = await broker.startSession({ code: 'return "done early"' });
    await collect(broker.streamEvents(ended.id));
    expect((await broker.getSession(ended.id))?.status).toBe('completed');
    const session = await broker.startSession({ code: askingCode(1) });
    expect(session.expiresAt - session.createdAt).toBe(3_000);
    const events = await collect(broker.streamEvents(session.id));
    expect(typesOf(events).slice(-2)).toEqual(['error', 'final']);
    expect(eventOf(events, 'error').payload.code).toBe('SESSION_EXPIRED');
    expect(eventOf(events, 'final').payload.error?.code).toBe('SESSION_EXPIRED');
    for (const id of [session.id, ended.id]) {
      expect(await broker.getSession(id)).toBeNull();
      expect((await rejectionOf(collect(broker.streamEvents(id)))).code).toBe('SESSION_NOT_FOUND');
      expect((await rejectionOf(broker.cancelSession(id))).code).toBe('SESSION_NOT_FOUND');
    }
    const callId = callIdOf(events.find(isToolCall));
    expect((await rejectionOf(broker.submitToolResult(session.id, callId, 1))).code).toBe(
      'SESSION_NOT_FOUND',
    );
  });

  it('refuses sessions past maxConcurrentSessions with SESSION_LIMIT_REACHED', async () => {
    const broker = testBroker({ maxConcurrentSessions: 2 });
    const first = await broker.startSession({ code: askingCode(1) });
    await broker.startSession({ code: askingCode(1) });
    const refused = await rejectionOf(broker.startSession({ code: 'return 1' }));
    expect(refused.code).toBe('SESSION_LIMIT_REACHED');
    expect(refused.retryable).toBe(true);
    expect(broker.health().sessions).toEqual({ active: 2, total: 2, parked: 0 });
    await broker.cancelSession(first.id);
    const third = await broker.startSession({ code: 'return 3' });
    expect(eventOf(await collect(broker.streamEvents(third.id)), 'final').payload.result).toBe(3);
    expect(broker.health()).toMatchObject({ status: 'ok', sessions: { active: 1, total: 3 } });
  });
});

describe('tenant isolation', () => {
  it('reports another tenant\u2019s session exactly as a missing one', async () => {
    const broker = testBroker();
    const owner = { userId: 'u1', tenantId: 'acme' };
    const session = await broker.startSession({ code: askingCode(1) }, owner);
    expect(session.user).toEqual(owner);
    const iterator = broker
      .streamEvents(session.id, { caller: { tenantId: 'acme', userId: 'u2' } })
      [Symbol.asyncIterator]();
    const callId = callIdOf((await readUntil(iterator, isToolCall)).at(-1));
    for (const stranger of [{ tenantId: 'other' }, { userId: 'u1' }]) {
      expect(await broker.getSession(session.id, stranger)).toBeNull();
      expect((await rejectionOf(collect(broker.streamEvents(session.id, { caller: stranger })))).code).toBe(
        'SESSION_NOT_FOUND',
      );
      expect(
        (await rejectionOf(broker.submitToolResult(session.id, callId, 1, undefined, stranger))).code,
      ).toBe('SESSION_NOT_FOUND');
      expect((await rejectionOf(broker.cancelSession(session.id, stranger))).code).toBe('SESSION_NOT_FOUND');
    }
    await broker.submitToolResult(session.id, callId, 'ok', undefined, { tenantId: 'acme' });
    const rest = await collect({ [Symbol.asyncIterator]: () => iterator });
    expect(eventOf(rest, 'final').payload.result).toEqual(['ok']);
    expect((await broker.getSession(session.id, owner))?.status).toBe('completed');
  });
});

describe('close', () => {
  it('ends every running session with SHUTTING_DOWN and refuses new ones', async () => {
    const broker = testBroker();
    const sessions = [
      await broker.startSession({ code: askingCode(1) }),
      await broker.startSession({ code: askingCode(1) }),
    ];
    const streams = sessions.map((session) => collect(broker.streamEvents(session.id)));
    const errors: string[] = [];
    broker.on('session:error', (_session, error) => errors.push(error.code));
    await broker.close();
    for (const events of await Promise.all(streams)) {
      expect(typesOf(events).slice(-2)).toEqual(['error', 'final']);
      expect(eventOf(events, 'error').payload.code).toBe('SHUTTING_DOWN');
      expect(events.filter((event) => event.type === 'final')).toHaveLength(1);
    }
    expect(errors).toEqual(['SHUTTING_DOWN', 'SHUTTING_DOWN']);
    expect((await rejectionOf(broker.startSession({ code: 'return 1' }))).code).toBe('SHUTTING_DOWN');
    await broker.close();
  });
});
