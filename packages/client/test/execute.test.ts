import type { LogPayload, StreamEvent, ToolCallPayload } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import { EnclaveError } from '../src/index.js';
import { startBroker } from './test-broker.js';

function seqsOf(events: readonly StreamEvent[]): number[] {
  return events.map((event) => event.seq);
}

describe('EnclaveClient.execute against a real broker', () => {
  it('streams stdout, logs and the result, in seq order', async () => {
    await using server = await startBroker();
    const client = server.client();
    const session = client.execute(`
      console.log('Hello from the sandbox!');
      console.warn('careful', { n: 1 });
      console.log('second line');
      return 1 + 2;
    `);
    expect(session.sessionId).toBeUndefined();
    const events: StreamEvent[] = [];
    for await (const event of session) events.push(event);

    expect(events[0]?.type).toBe('session_init');
    expect(events.at(-1)?.type).toBe('final');
    expect(seqsOf(events)).toEqual(events.map((_, index) => index + 1));
    const stdout = events.flatMap((event) => (event.type === 'stdout' ? [event.payload.chunk] : []));
    expect(stdout).toEqual(['Hello from the sandbox!\n', 'second line\n']);
    const logs = events.flatMap((event) => (event.type === 'log' ? [event.payload] : []));
    expect(logs).toEqual([
      expect.objectContaining({ level: 'warn', message: expect.stringContaining('careful') }),
    ]);

    const outcome = await session.result;
    expect(outcome).toMatchObject({ ok: true, result: 3 });
    expect(outcome.stats.durationMs).toBeGreaterThanOrEqual(0);
    expect(session.sessionId).toMatch(/^ses_/);
    expect(await session.ready).toBe(session.sessionId);
    expect(session.events).toEqual(events);
    // A second iteration replays the same events from the first.
    const again: StreamEvent[] = [];
    for await (const event of session) again.push(event);
    expect(again).toEqual(events);
  });

  it('calls onEvent, onStdout, onLog and onToolCall as events arrive, and runs broker tools', async () => {
    await using server = await startBroker({}, (broker) => {
      broker.tools.register({
        name: 'getCurrentTime',
        description: 'Get the current time',
        parameters: { timezone: { type: 'string', description: 'IANA time zone' } },
        handler: async ({ timezone }) => `noon in ${String(timezone ?? 'UTC')}`,
      });
    });
    const seen: string[] = [];
    const stdout: string[] = [];
    const logs: LogPayload[] = [];
    const toolCalls: ToolCallPayload[] = [];
    const session = server.client().execute(
      `const time = await tools.getCurrentTime({ timezone: 'America/New_York' });
       console.log('Current time:', time);
       console.error('done');
       return time;`,
      {
        onEvent: (event) => seen.push(event.type),
        onStdout: (chunk) => stdout.push(chunk),
        onLog: (log) => logs.push(log),
        onToolCall: (call) => toolCalls.push(call),
      },
    );
    const outcome = await session.result;
    expect(outcome).toMatchObject({ ok: true, result: 'noon in America/New_York' });
    expect(outcome.stats.toolCalls).toBe(1);
    expect(seen).toEqual(session.events.map((event) => event.type));
    expect(seen).toContain('tool_result_applied');
    expect(stdout).toEqual(['Current time: noon in America/New_York\n']);
    expect(logs).toEqual([expect.objectContaining({ level: 'error', message: 'done' })]);
    expect(toolCalls).toEqual([
      expect.objectContaining({
        toolName: 'getCurrentTime',
        args: { timezone: 'America/New_York' },
        answeredBy: 'broker',
      }),
    ]);
  });

  it('resolves result with ok: false and the code when the code fails', async () => {
    await using server = await startBroker();
    const session = server.client().execute(`console.log('before'); throw new TypeError('boom');`);
    const outcome = await session.result;
    expect(outcome.ok).toBe(false);
    expect(EnclaveError.isInstance(outcome.error)).toBe(true);
    expect(outcome.error?.code).toBe('EXECUTION_ERROR');
    expect(outcome.error?.message).toContain('boom');
    expect(session.store.getSnapshot()).toMatchObject({ state: 'error', stdout: 'before\n' });
  });

  it('delivers only the filtered types, plus session_init and final', async () => {
    await using server = await startBroker();
    const session = server
      .client()
      .execute(`console.log('a'); console.info('hidden'); console.log('b'); return 'ok'`, {
        filter: { types: ['stdout'] },
      });
    const outcome = await session.result;
    expect(outcome.result).toBe('ok');
    expect(session.events.map((event) => event.type)).toEqual(['session_init', 'stdout', 'stdout', 'final']);
    const seqs = seqsOf(session.events);
    expect(seqs).toEqual([...seqs].sort((left, right) => left - right));
  });

  it('passes timeout, maxToolCalls and context to the broker', async () => {
    await using server = await startBroker();
    const session = server.client().execute(`return context.user + ':' + context.n`, {
      context: { user: 'ada', n: 7 },
      timeout: 5_000,
      maxToolCalls: 3,
    });
    expect((await session.result).result).toBe('ada:7');
    const init = session.events[0];
    expect(init?.type === 'session_init' && init.payload.limits).toMatchObject({
      timeout: 5_000,
      maxToolCalls: 3,
    });
  });

  it('answers getSession, health and listActions', async () => {
    await using server = await startBroker();
    const client = server.client();
    const session = client.execute('return 1');
    await session.result;
    const info = await client.getSession(await session.ready);
    expect(info).toMatchObject({ id: session.sessionId, status: 'completed' });
    const health = await client.health();
    expect(health.status).toBe('ok');
    expect(health.sessions.total).toBe(1);
    const catalog = await client.listActions();
    expect(catalog).toMatchObject({ actions: expect.any(Array), services: expect.any(Array) });
  });
});
