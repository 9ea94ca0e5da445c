import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { type EnclaveError, RuntimeEventSchema } from '@enclave-vm/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandboxPool, type SandboxPool } from '../src/pool/sandbox-pool.js';
import { runCode, sleep, testLimits } from './sandbox-harness.js';

let pool: SandboxPool;

beforeAll(async () => {
  pool = createSandboxPool({ size: 2, warmInstances: 2 });
  await pool.ready();
});

afterAll(async () => {
  await pool.close();
});

describe('running sessions on worker threads', () => {
  it('runs code and streams valid runtime events', async () => {
    const outcome = await runCode(
      pool,
      "console.log('hi', { n: 1 }); const r = await tools.add({ a: 2, b: 3 }); return r",
      {
        tools: { add: (args) => (args as { a: number; b: number }).a + (args as { a: number; b: number }).b },
      },
    );
    expect(outcome.final).toMatchObject({ ok: true, result: 5 });
    expect(outcome.events.map((event) => event.type)).toEqual(['stdout', 'tool_call', 'final']);
    for (const event of outcome.events) expect(RuntimeEventSchema.safeParse(event).success).toBe(true);
  });

  it('keeps the caller responsive and other sessions fast while a guest spins', async () => {
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const spinner = runCode(pool, 'while (true) {}', { limits: { timeout: 1_000, maxCpuTime: 10_000 } });
    await sleep(50);
    const quick = await runCode(pool, 'return 1 + 2');
    const ticks: number[] = [];
    const tickStart = performance.now();
    while (performance.now() - tickStart < 300) {
      await sleep(20);
      ticks.push(performance.now());
    }
    const spun = await spinner;
    delay.disable();
    expect(quick.final.result).toBe(3);
    expect(quick.endedAt).toBeLessThan(spun.endedAt);
    expect(spun.error?.code).toBe('EXECUTION_TIMEOUT');
    // The caller's timers kept firing while the guest spun (a correctness bound).
    expect(ticks.length).toBeGreaterThan(5);
    expect(delay.max / 1e6).toBeLessThan(500);
  });

  it('sends new sessions to a free thread rather than to a busy one', async () => {
    const spinner = runCode(pool, 'while (true) {}', {
      sessionId: 'spinner_1',
      limits: { timeout: 800, maxCpuTime: 10_000 },
    });
    await sleep(50);
    const spinnerThread = pool.threadIndexOf('spinner_1');
    expect(spinnerThread).toBeDefined();
    const placements: (number | undefined)[] = [];
    const waits = Array.from({ length: 4 }, (_, index) =>
      runCode(pool, 'return await tools.wait()', {
        sessionId: `waiter_${index}`,
        tools: { wait: () => sleep(100).then(() => index) },
        onStart: () => queueMicrotask(() => placements.push(pool.threadIndexOf(`waiter_${index}`))),
      }),
    );
    const outcomes = await Promise.all(waits);
    expect(outcomes.map((outcome) => outcome.final.result)).toEqual([0, 1, 2, 3]);
    expect(placements.every((index) => index !== undefined && index !== spinnerThread)).toBe(true);
    await spinner;
  });

  it('spreads concurrent sessions over the threads', async () => {
    const placements = new Set<number | undefined>();
    await Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        runCode(pool, 'return await tools.wait()', {
          sessionId: `spread_${index}`,
          tools: { wait: () => sleep(50) },
          onStart: () => queueMicrotask(() => placements.add(pool.threadIndexOf(`spread_${index}`))),
        }),
      ),
    );
    expect(placements).toEqual(new Set([0, 1]));
  });

  it('sends a session that follows another within the refill window to the other idle thread', async () => {
    // The thread that just got a session is probably preparing its next sandbox. A window of a
    // minute makes every session here "follow" the previous one, whatever the machine's speed.
    const alternating = createSandboxPool({ size: 2, warmInstances: 1, refillWindowMs: 60_000 });
    try {
      await alternating.ready();
      const threads: (number | undefined)[] = [];
      for (let index = 0; index < 6; index++) {
        const sessionId = `alternate_${index}`;
        const handle = alternating.execute(
          { sessionId, code: 'return 1', limits: testLimits() },
          () => undefined,
        );
        threads.push(alternating.threadIndexOf(sessionId));
        expect((await handle.done).ok).toBe(true);
      }
      for (let index = 1; index < threads.length; index++)
        expect(threads[index]).not.toBe(threads[index - 1]);
    } finally {
      await alternating.close();
    }
  });

  it('keeps sending sessions to the same thread on a quiet pool', async () => {
    const placements = new Set<number | undefined>();
    for (let index = 0; index < 5; index++) {
      await sleep(5);
      const sessionId = `quiet_${index}`;
      const handle = pool.execute({ sessionId, code: 'return 1', limits: testLimits() }, () => undefined);
      placements.add(pool.threadIndexOf(sessionId));
      expect((await handle.done).ok).toBe(true);
    }
    expect(placements.size).toBe(1);
  });

  it('answers 1,000 concurrent tool calls, all results in order', async () => {
    const outcome = await runCode(
      pool,
      'const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => tools.double({ i }))); return results.reduce((a, b) => a + b, 0)',
      { tools: { double: (args) => (args as { i: number }).i * 2 }, limits: { maxToolCalls: 1000 } },
    );
    expect(outcome.final).toMatchObject({ ok: true, result: 999 * 1000 });
    expect(outcome.final.stats.toolCalls).toBe(1000);
  });

  it('copies a tool result the structured clone cannot take in its JSON form', async () => {
    const outcome = await runCode(pool, 'return await tools.odd()', {
      tools: { odd: () => ({ keep: 1, drop: () => 2 }) },
    });
    expect(outcome.final.result).toEqual({ keep: 1 });
  });
});

describe('the handle', () => {
  it('validates tool results on the calling thread', async () => {
    const codes: string[] = [];
    const handle = pool.execute(
      { sessionId: 'validate_1', code: 'return await tools.one()', limits: testLimits() },
      (event) => {
        if (event.type !== 'tool_call') return;
        for (const attempt of [
          () => handle.submitToolResult('call_42', { ok: true, result: 0 }),
          () => handle.submitToolResult(event.payload.callId, { ok: true, result: 'first' }),
          () => handle.submitToolResult(event.payload.callId, { ok: true, result: 'again' }),
        ]) {
          try {
            attempt();
          } catch (error) {
            codes.push((error as EnclaveError).code);
          }
        }
      },
    );
    expect((await handle.done).result).toBe('first');
    expect(codes).toEqual(['TOOL_CALL_NOT_FOUND', 'TOOL_CALL_ALREADY_ANSWERED']);
    expect(() => handle.submitToolResult('call_1', { ok: true, result: 1 })).toThrow(
      expect.objectContaining({ code: 'SESSION_ENDED' }),
    );
  });

  it('cancels a session waiting on a tool', async () => {
    const outcome = await runCode(pool, 'await tools.wait()', {
      ignoreToolCalls: true,
      onStart: (handle) => setTimeout(() => handle.cancel('stop it'), 50),
    });
    expect(outcome.error).toEqual({ code: 'CANCELLED', message: 'stop it' });
    expect(outcome.elapsedMs).toBeLessThan(2_000);
  });

  it('cancels a spinning session long before its timeout (through shared memory)', async () => {
    const outcome = await runCode(pool, 'while (true) {}', {
      limits: { timeout: 20_000, maxCpuTime: 20_000 },
      onStart: (handle) => setTimeout(() => handle.cancel(), 100),
    });
    expect(outcome.error?.code).toBe('CANCELLED');
    expect(outcome.elapsedMs).toBeLessThan(2_000);
  });

  it('ends a session that waits on a tool when another session spins on its thread', async () => {
    const small = createSandboxPool({ size: 1 });
    await small.ready();
    try {
      const waiter = runCode(small, 'await tools.never()', {
        ignoreToolCalls: true,
        limits: { timeout: 300 },
      });
      await sleep(50);
      const spinner = runCode(small, 'while (true) {}', { limits: { timeout: 3_000, maxCpuTime: 10_000 } });
      const waited = await waiter;
      expect(waited.error?.code).toBe('EXECUTION_TIMEOUT');
      expect(waited.elapsedMs).toBeLessThan(1_300);
      expect((await spinner).error?.code).toBe('EXECUTION_TIMEOUT');
    } finally {
      await small.close();
    }
  });

  it('starts and answers other sessions while a session of the thread waits for its tool result', async () => {
    const small = createSandboxPool({ size: 1 });
    await small.ready();
    try {
      let othersDone!: () => void;
      const others = new Promise<void>((resolve) => {
        othersDone = resolve;
      });
      // The first session's answer comes only once every other session of its thread has ended.
      const waiting = runCode(small, "return await tools.slow({ after: 'the others' })", {
        tools: { slow: () => others.then(() => 'last') },
      });
      const quick = await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          runCode(
            small,
            `let total = 0; for (let i = 0; i < 5; i++) total += await tools.add({ n: ${index} }); return total`,
            {
              tools: { add: (args) => (args as { n: number }).n },
            },
          ),
        ),
      );
      expect(quick.map((outcome) => outcome.final.result)).toEqual(
        Array.from({ length: 20 }, (_, index) => index * 5),
      );
      othersDone();
      expect((await waiting).final.result).toBe('last');
    } finally {
      await small.close();
    }
  });

  it('ends a waiting session at its deadline while another keeps its thread answering tool calls', async () => {
    const small = createSandboxPool({ size: 1 });
    await small.ready();
    try {
      const busy = runCode(small, 'for (;;) await tools.tick()', {
        tools: { tick: () => 1 },
        limits: { timeout: 1_500, maxToolCalls: 10_000_000 },
      });
      await sleep(50);
      const waiter = runCode(small, 'await tools.never()', {
        ignoreToolCalls: true,
        limits: { timeout: 300 },
      });
      const waited = await waiter;
      expect(waited.error?.code).toBe('EXECUTION_TIMEOUT');
      const looped = await busy;
      expect(looped.error?.code).toBe('EXECUTION_TIMEOUT');
      expect(looped.final.stats.toolCalls).toBeGreaterThan(100);
      expect(waited.endedAt).toBeLessThan(looped.endedAt);
    } finally {
      await small.close();
    }
  });
});

describe('capacity and shutdown', () => {
  it('refuses a session when every thread is full with RUNTIME_UNAVAILABLE', async () => {
    const tiny = createSandboxPool({ size: 1, maxSessionsPerThread: 1 });
    try {
      const first = runCode(tiny, 'return await tools.wait()', {
        tools: { wait: () => sleep(200).then(() => 'first') },
      });
      await sleep(20);
      const second = await runCode(tiny, 'return 2');
      expect(second.error?.code).toBe('RUNTIME_UNAVAILABLE');
      expect(second.events.map((event) => event.type)).toEqual(['error', 'final']);
      expect((await first).final.result).toBe('first');
      expect((await runCode(tiny, 'return 3')).final.result).toBe(3);
    } finally {
      await tiny.close();
    }
  });

  it('ends running sessions with SHUTTING_DOWN on close, and refuses new ones', async () => {
    const closing = createSandboxPool({ size: 1 });
    await closing.ready();
    const waiting = runCode(closing, 'await tools.never()', { ignoreToolCalls: true });
    const spinning = runCode(closing, 'while (true) {}', { limits: { timeout: 20_000, maxCpuTime: 20_000 } });
    await sleep(100);
    await closing.close();
    expect((await waiting).error?.code).toBe('SHUTTING_DOWN');
    expect((await spinning).error?.code).toBe('SHUTTING_DOWN');
    expect(closing.activeSessions).toBe(0);
    const late = await runCode(closing, 'return 1');
    expect(late.error?.code).toBe('SHUTTING_DOWN');
  });

  it('refuses a spec with invalid limits without disturbing its threads', async () => {
    const handle = pool.execute(
      {
        sessionId: 'limits_1',
        code: 'return 1',
        limits: { timeout: -1 } as unknown as ReturnType<typeof testLimits>,
      },
      () => undefined,
    );
    const final = await handle.done;
    expect(final.error?.code).toBe('VALIDATION_ERROR');
    expect(final.error?.message).toContain('timeout');
    expect((await runCode(pool, 'return 4')).final.result).toBe(4);
  });

  it('passes the context as JSON and refuses one that cannot be, without troubling the thread', async () => {
    const withFunction = pool.execute(
      {
        sessionId: 'clone_1',
        code: 'return Object.keys(context)',
        limits: testLimits(),
        context: { kept: 1, callback: () => 1 },
      },
      () => undefined,
    );
    expect((await withFunction.done).result).toEqual(['kept']);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    const cyclic = pool.execute(
      { sessionId: 'clone_2', code: 'return 1', limits: testLimits(), context: cycle },
      () => undefined,
    );
    expect((await cyclic.done).error?.code).toBe('VALIDATION_ERROR');
    let deep: unknown = [];
    for (let level = 0; level < 6000; level++) deep = [deep];
    const nested = pool.execute(
      { sessionId: 'clone_3', code: 'return 1', limits: testLimits(), context: { deep } },
      () => undefined,
    );
    const final = await nested.done;
    expect(final.error?.code).toBe('VALIDATION_ERROR');
    expect(final.error?.message).toContain('512 levels');
    const after = pool.execute(
      { sessionId: 'clone_4', code: 'return 1 + 2', limits: testLimits() },
      () => undefined,
    );
    expect((await after.done).result).toBe(3);
  });
});
