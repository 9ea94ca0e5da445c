/**
 * Parking: a session that waits on its tool calls longer than `parkAfterMs` gives up its engine
 * instance (its memory is kept as a compressed image) and is restored by the next tool result. What
 * a user notices is nothing at all: the code resumes with all its state, its limits still hold, and
 * cancel and timeouts still end it.
 */
import { waitUntil } from '@enclave-vm/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { createInThreadExecutor, type InThreadExecutor } from '../src/executor/in-thread-executor.js';
import { createSandboxPool } from '../src/pool/sandbox-pool.js';
import { eventTypes, runCode, sleep } from './sandbox-harness.js';

const PARK_AFTER_MS = 20;
/** Long enough past PARK_AFTER_MS for the park to have happened on a busy machine. */
const WAIT_MS = 150;

const executors: InThreadExecutor[] = [];

function executor(): InThreadExecutor {
  const created = createInThreadExecutor({ warmInstances: 2, parkAfterMs: PARK_AFTER_MS });
  executors.push(created);
  return created;
}

afterEach(async () => {
  for (const created of executors.splice(0)) await created.close();
});

/** A tool that answers after `ms`, long enough for the waiting session to be parked. */
function later(ms: number, result: (args: unknown) => unknown) {
  return async (args: unknown) => {
    await sleep(ms);
    return result(args);
  };
}

/** Code that builds state of every kind before it waits, and uses all of it after. */
const STATEFUL_CODE = `
  const rows = Array.from({ length: 2000 }, (_, i) => ({ i, name: 'row ' + i }));
  const index = new Map(rows.map((row) => [row.name, row]));
  let counter = 0;
  const bump = () => ++counter;
  class Box { constructor(v) { this.v = v } twice() { return this.v * 2 } }
  const box = new Box(21);
  const text = 'ü'.repeat(100) + 'end';
  bump();
  const answer = await tools.ask({ question: 'go on?' });
  bump();
  console.log('resumed with', answer);
  return { answer, counter, rows: rows.length, found: index.get('row 1999').i, twice: box.twice(), text: text.length };
`;

describe('parking a waiting session', () => {
  it('parks a session waiting on a tool and resumes it with all its state when the answer comes', async () => {
    const inThread = executor();
    await inThread.prewarm();
    const outcome = await runCode(inThread, STATEFUL_CODE, { tools: { ask: later(WAIT_MS, () => 'yes') } });
    expect(outcome.error).toBeUndefined();
    expect(outcome.final.result).toEqual({
      answer: 'yes',
      counter: 2,
      rows: 2000,
      found: 1999,
      twice: 42,
      text: 103,
    });
    expect(outcome.stdout).toBe('resumed with yes\n');
    expect(inThread.provider.parkedCount).toBe(1);
    expect(inThread.provider.restoredCount).toBe(1);
  });

  it('parks and restores as often as the session waits, with several calls pending at once', async () => {
    const inThread = executor();
    const outcome = await runCode(
      inThread,
      `
        const first = await Promise.all([tools.slow({ n: 1 }), tools.slow({ n: 2 }), tools.slower({ n: 3 })]);
        const second = await tools.slow({ n: 4 });
        return [...first, second];
      `,
      {
        tools: {
          slow: later(WAIT_MS, (args) => (args as { n: number }).n * 10),
          slower: later(2 * WAIT_MS, (args) => (args as { n: number }).n * 10),
        },
      },
    );
    expect(outcome.final.result).toEqual([10, 20, 30, 40]);
    // Parked while all three waited, again while the third did, and once more for the last call.
    expect(inThread.provider.parkedCount).toBe(3);
    expect(inThread.provider.restoredCount).toBe(3);
    expect(outcome.final.stats?.toolCalls).toBe(4);
  });

  it('never parks a session whose tools answer within the window', async () => {
    const inThread = executor();
    const outcome = await runCode(
      inThread,
      'let t = 0; for (let i = 0; i < 20; i++) t += await tools.fast({ i }); return t',
      {
        tools: { fast: (args) => (args as { i: number }).i },
      },
    );
    expect(outcome.final.result).toBe(190);
    expect(inThread.provider.parkedCount).toBe(0);
  });

  it('ends a parked session that is cancelled, or that reaches its timeout, like any other', async () => {
    const inThread = executor();
    await inThread.prewarm();
    const cancelled = runCode(inThread, 'await tools.never(); return 1', {
      ignoreToolCalls: true,
      onStart: (handle) => {
        setTimeout(() => handle.cancel('the user left'), WAIT_MS);
      },
    });
    const timedOut = runCode(inThread, 'await tools.never(); return 1', {
      ignoreToolCalls: true,
      limits: { timeout: 4 * WAIT_MS },
    });
    const [cancel, timeout] = await Promise.all([cancelled, timedOut]);
    expect(cancel.error).toMatchObject({ code: 'CANCELLED', message: 'the user left' });
    expect(timeout.error?.code).toBe('EXECUTION_TIMEOUT');
    expect(eventTypes(timeout)).toEqual(['tool_call', 'error', 'final']);
    expect(inThread.provider.parkedCount).toBe(2);
    expect(inThread.provider.restoredCount).toBe(0);
    // Their images went with them.
    expect(inThread.provider.parkedSessions).toBe(0);
  });

  it('gives a parked session its tool timeout inside the code, where it can catch it', async () => {
    const inThread = executor();
    const outcome = await runCode(
      inThread,
      "try { await tools.never() } catch (error) { return error.code + ': ' + error.message }",
      { ignoreToolCalls: true, limits: { toolTimeout: WAIT_MS } },
    );
    expect(outcome.final.result).toMatch(/^TOOL_TIMEOUT: Tool "never" did not answer within/);
    expect(inThread.provider.parkedCount).toBe(1);
    expect(inThread.provider.restoredCount).toBe(1);
  });

  it('keeps the limits of a restored session: its tool-call count goes on', async () => {
    const inThread = executor();
    const outcome = await runCode(
      inThread,
      'await tools.ask(); await tools.ask(); await tools.ask(); return "unreachable"',
      { tools: { ask: later(WAIT_MS, () => 1) }, limits: { maxToolCalls: 2 } },
    );
    expect(outcome.error?.code).toBe('TOOL_CALL_LIMIT_EXCEEDED');
    expect(inThread.provider.restoredCount).toBe(2);
  });

  it('keeps the limits of a restored session: its CPU time goes on', async () => {
    // Each half computes for 150 ms, under the 250 ms limit; only together do they pass it. A
    // restore that started the count afresh would let the code return.
    const inThread = executor();
    const outcome = await runCode(
      inThread,
      `const spin = () => { const end = Date.now() + 150; while (Date.now() < end) {} };
       spin();
       await tools.ask();
       spin();
       return 'unreachable';`,
      { tools: { ask: later(WAIT_MS, () => 1) }, limits: { maxCpuTime: 250, timeout: 10_000 } },
    );
    expect(outcome.error?.code).toBe('CPU_LIMIT_EXCEEDED');
    expect(inThread.provider.restoredCount).toBe(1);
    expect(outcome.final.stats.cpuTimeMs).toBeGreaterThanOrEqual(250);
  });

  it('parks and restores sessions on the worker-thread pool, each with its own state', async () => {
    const pool = createSandboxPool({ size: 1, warmInstances: 1, parkAfterMs: PARK_AFTER_MS });
    try {
      await pool.ready();
      const answers: (() => void)[] = [];
      const running = Promise.all(
        Array.from({ length: 5 }, (_, index) =>
          runCode(pool, STATEFUL_CODE, {
            tools: { ask: () => new Promise((resolve) => answers.push(() => resolve(`yes ${index}`))) },
          }),
        ),
      );
      // All five wait on their tool and are parked on the thread; each answer restores one.
      await waitUntil(() => pool.parkedSessions === 5, 'five parked sessions');
      expect(answers).toHaveLength(5);
      for (const answer of answers) answer();
      const outcomes = await running;
      expect(pool.parkedSessions).toBe(0);
      for (const [index, outcome] of outcomes.entries()) {
        expect(outcome.final.result).toMatchObject({ answer: `yes ${index}`, counter: 2, found: 1999 });
      }
    } finally {
      await pool.close();
    }
  });
});
