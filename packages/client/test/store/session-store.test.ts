import { createEvent, type StreamEvent } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import { createSessionStore } from '../../src/store/session-store.js';

const stats = { durationMs: 3, cpuTimeMs: 1, toolCalls: 1, stdoutBytes: 6 };

function sessionEvents(): StreamEvent[] {
  return [
    createEvent('ses_a', 1, 'session_init', {
      limits: {
        timeout: 1000,
        maxCpuTime: 1000,
        maxToolCalls: 1,
        toolTimeout: 1000,
        memoryLimit: 1,
        maxStackSize: 1,
        maxStdoutBytes: 1,
        maxResultBytes: 1,
        maxToolArgsBytes: 1,
        maxToolResultBytes: 1,
      },
      expiresAt: 0,
    }),
    createEvent('ses_a', 2, 'stdout', { chunk: 'one\n' }),
    createEvent('ses_a', 3, 'log', { level: 'warn', message: 'careful', data: { n: 1 } }),
    createEvent('ses_a', 4, 'tool_call', {
      callId: 'c1',
      toolName: 'ask',
      args: { q: 1 },
      answeredBy: 'client',
    }),
    createEvent('ses_a', 5, 'stdout', { chunk: 'two\n' }),
    createEvent('ses_a', 6, 'tool_result_applied', { callId: 'c1', ok: true, durationMs: 2, result: 'yes' }),
  ];
}

describe('createSessionStore', () => {
  it('starts idle and returns the same snapshot until something changes', () => {
    const store = createSessionStore();
    const idle = store.getSnapshot();
    expect(idle.state).toBe('idle');
    expect(store.getSnapshot()).toBe(idle);

    const recorder = store.record();
    const running = store.getSnapshot();
    expect(running).not.toBe(idle);
    expect(running.state).toBe('running');
    expect(store.getSnapshot()).toBe(running);

    recorder.applyEvents(sessionEvents().slice(0, 2));
    const afterStdout = store.getSnapshot();
    expect(afterStdout).not.toBe(running);
    expect(afterStdout.stdout).toBe('one\n');
    expect(afterStdout.sessionId).toBe('ses_a');
    expect(store.getSnapshot()).toBe(afterStdout);
    // An earlier snapshot is never changed afterwards.
    expect(running.stdout).toBe('');
  });

  it('notifies once per batch and folds events into stdout, logs, tool calls and the outcome', () => {
    const store = createSessionStore();
    const recorder = store.record();
    let notifications = 0;
    const unsubscribe = store.subscribe(() => notifications++);
    recorder.applyEvents(sessionEvents());
    expect(notifications).toBe(1);

    const snapshot = store.getSnapshot();
    expect(snapshot.stdout).toBe('one\ntwo\n');
    expect(snapshot.logs).toEqual([
      { level: 'warn', message: 'careful', data: { n: 1 }, seq: 3, ts: expect.any(Number) },
    ]);
    expect(snapshot.toolCalls).toEqual([
      {
        callId: 'c1',
        toolName: 'ask',
        args: { q: 1 },
        answeredBy: 'client',
        status: 'completed',
        result: 'yes',
        durationMs: 2,
        seq: 4,
      },
    ]);
    expect(snapshot.events.map((event) => event.seq)).toEqual([1, 2, 3, 4, 5, 6]);

    recorder.applyEvents([createEvent('ses_a', 7, 'final', { ok: true, result: 42, stats })]);
    expect(notifications).toBe(2);
    expect(store.getSnapshot()).toMatchObject({ state: 'completed', result: 42, stats, error: undefined });

    unsubscribe();
    store.reset();
    expect(notifications).toBe(2);
    expect(store.getSnapshot().state).toBe('idle');
  });

  it('reports a failed final as error, a cancelled one as cancelled', () => {
    const store = createSessionStore();
    store.record().applyEvents([
      createEvent('ses_a', 1, 'final', {
        ok: false,
        error: { code: 'EXECUTION_ERROR', message: 'boom' },
        stats,
      }),
    ]);
    const failed = store.getSnapshot();
    expect(failed.state).toBe('error');
    expect(failed.error?.code).toBe('EXECUTION_ERROR');
    expect(failed.error?.message).toBe('boom');

    store
      .record()
      .applyEvents([
        createEvent('ses_b', 1, 'final', { ok: false, error: { code: 'CANCELLED', message: 'stop' }, stats }),
      ]);
    expect(store.getSnapshot().state).toBe('cancelled');
  });

  it('ignores a recorder once the store records another session', () => {
    const store = createSessionStore();
    const first = store.record();
    const second = store.record();
    expect(first.active).toBe(false);
    expect(second.active).toBe(true);
    first.applyEvents([createEvent('ses_a', 2, 'stdout', { chunk: 'stale\n' })]);
    second.applyEvents([createEvent('ses_b', 2, 'stdout', { chunk: 'fresh\n' })]);
    expect(store.getSnapshot().stdout).toBe('fresh\n');
  });

  it('keeps calling the other listeners when one throws', async () => {
    const store = createSessionStore();
    const seen: string[] = [];
    store.subscribe(() => {
      throw new Error('listener bug');
    });
    store.subscribe(() => seen.push(store.getSnapshot().state));
    const rethrown = new Promise<unknown>((resolve) => {
      process.once('uncaughtException', resolve);
    });
    store.record();
    expect(seen).toEqual(['running']);
    expect(await rethrown).toMatchObject({ message: 'listener bug' });
  });
});
