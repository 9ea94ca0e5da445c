import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandboxPool, type SandboxPool } from '../src/pool/sandbox-pool.js';
import { runCode, sleep } from './sandbox-harness.js';

// Threads that die or stop answering end only their own sessions, and are replaced.

let pool: SandboxPool;

beforeAll(async () => {
  pool = createSandboxPool({ size: 2, warmInstances: 1, watchdogGraceMs: 300 });
  await pool.ready();
});

afterAll(async () => {
  await pool.close();
});

async function waitForPlacement(sessionId: string): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const index = pool.threadIndexOf(sessionId);
    if (index !== undefined) return index;
    await sleep(5);
  }
  throw new Error(`session ${sessionId} was never placed`);
}

describe('a thread that dies', () => {
  it('ends only its own sessions with WORKER_CRASHED and is replaced', async () => {
    // Three sessions waiting on tools: least-loaded placement puts them on both threads.
    const sessions = ['first', 'second', 'third'].map((name) =>
      runCode(pool, "return await tools.slow({ name: '" + name + "' })", {
        sessionId: name,
        tools: { slow: (args) => sleep(600).then(() => (args as { name: string }).name) },
      }),
    );
    const placements = new Map<string, number>();
    for (const name of ['first', 'second', 'third']) placements.set(name, await waitForPlacement(name));
    const victimThread = placements.get('first') as number;
    expect(new Set(placements.values()).size).toBe(2);

    await pool.terminateThread(victimThread);
    const outcomes = await Promise.all(sessions);
    for (const [index, name] of ['first', 'second', 'third'].entries()) {
      const outcome = outcomes[index];
      if (placements.get(name) === victimThread) {
        expect(outcome?.error?.code).toBe('WORKER_CRASHED');
        expect(outcome?.events.slice(-2).map((event) => event.type)).toEqual(['error', 'final']);
      } else {
        expect(outcome?.final).toMatchObject({ ok: true, result: name });
      }
    }
    // The replacement thread takes sessions again.
    await pool.ready();
    const after = await Promise.all(
      Array.from({ length: 4 }, (_, index) => runCode(pool, `return ${index}`)),
    );
    expect(after.map((outcome) => outcome.final.result)).toEqual([0, 1, 2, 3]);
    expect(pool.size).toBe(2);
    expect(pool.activeSessions).toBe(0);
  });
});

describe('a thread that stops answering', () => {
  it('is terminated by the watchdog after the deadline plus grace; its session ends with WORKER_CRASHED', async () => {
    // Converting the largest BigInt to decimal takes seconds inside one C built-in, which never
    // polls the interrupt handler (the one kind the guards cannot split, see docs/security.md):
    // the guest escapes the in-thread deadline, and only the main-thread watchdog can stop it.
    const runaway = runCode(pool, 'for (;;) String((1n << 900000n) - 1n)', {
      sessionId: 'runaway_1',
      limits: { timeout: 200, maxCpuTime: 10_000 },
    });
    await waitForPlacement('runaway_1');
    await sleep(50);
    const bystander = await runCode(pool, 'return 1 + 2');
    const outcome = await runaway;
    expect(outcome.error?.code).toBe('WORKER_CRASHED');
    expect(outcome.elapsedMs).toBeGreaterThanOrEqual(450);
    expect(outcome.elapsedMs).toBeLessThan(3_000);
    expect(bystander.final).toMatchObject({ ok: true, result: 3 });
    const after = await Promise.all(
      Array.from({ length: 4 }, (_, index) => runCode(pool, `return ${index} + 10`)),
    );
    expect(after.map((result) => result.final.result)).toEqual([10, 11, 12, 13]);
  });
});
