import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandboxPool, type SandboxPool } from '../src/pool/sandbox-pool.js';
import { eventTypes, type RunOutcome, runCode, runWithBystander } from './sandbox-harness.js';

// Limits on guest execution, enforced on real worker threads. Every bomb runs beside a plain session
// that must be unaffected, and the pool must keep working afterwards.

let pool: SandboxPool;

beforeAll(async () => {
  pool = createSandboxPool({ size: 2, warmInstances: 2 });
  await pool.ready();
});

afterAll(async () => {
  await pool.close();
});

const MiB = 1024 * 1024;

function expectFailedWith(outcome: RunOutcome, code: string): void {
  expect(outcome.final.ok).toBe(false);
  expect(outcome.error?.code).toBe(code);
  expect(eventTypes(outcome).slice(-2)).toEqual(['error', 'final']);
  expect(outcome.events.filter((event) => event.type === 'final')).toHaveLength(1);
}

function expectBystanderUnaffected(bomb: RunOutcome, bystander: RunOutcome, spins: boolean): void {
  expect(bystander.final).toMatchObject({ ok: true, result: 3 });
  // A correctness bound, not a speed figure: it must not have waited for the bomb.
  if (spins) expect(bystander.endedAt).toBeLessThan(bomb.endedAt);
}

describe('wall-clock timeout', () => {
  it.each([
    ['a busy loop', 'while (true) {}'],
    ['a busy loop after an await', 'await null; while (true) {}'],
    ['a loop of awaits (microtasks only)', 'while (true) { await null }'],
    ['catastrophic regex backtracking', "return /(a+)+$/.test('a'.repeat(40) + 'b')"],
    ['a loop that catches everything', 'while (true) { try { while (true) {} } catch (error) {} }'],
  ])('stops %s with EXECUTION_TIMEOUT', async (_name, code) => {
    const { bomb, bystander } = await runWithBystander(pool, code, {
      limits: { timeout: 300, maxCpuTime: 10_000 },
    });
    expectFailedWith(bomb, 'EXECUTION_TIMEOUT');
    expect(bomb.elapsedMs).toBeGreaterThanOrEqual(280);
    expect(bomb.elapsedMs).toBeLessThan(1_300);
    expectBystanderUnaffected(bomb, bystander, true);
  });

  it('stops a run waiting on a tool that never answers', async () => {
    const { bomb, bystander } = await runWithBystander(pool, 'await tools.never()', {
      ignoreToolCalls: true,
      limits: { timeout: 300, toolTimeout: 60_000 },
    });
    expectFailedWith(bomb, 'EXECUTION_TIMEOUT');
    expect(eventTypes(bomb)).toEqual(['tool_call', 'error', 'final']);
    expect(bomb.elapsedMs).toBeLessThan(1_300);
    expectBystanderUnaffected(bomb, bystander, false);
  });

  it('delivers the output produced before the timeout', async () => {
    const outcome = await runCode(pool, "console.log('before the loop'); while (true) {}", {
      limits: { timeout: 300, maxCpuTime: 10_000 },
    });
    expect(outcome.stdout).toBe('before the loop\n');
    expectFailedWith(outcome, 'EXECUTION_TIMEOUT');
  });
});

describe('CPU time', () => {
  it('stops a busy guest with CPU_LIMIT_EXCEEDED before its wall-clock timeout', async () => {
    const { bomb, bystander } = await runWithBystander(pool, 'let n = 0; while (true) { n++ }', {
      limits: { timeout: 10_000, maxCpuTime: 250 },
    });
    expectFailedWith(bomb, 'CPU_LIMIT_EXCEEDED');
    expect(bomb.final.stats.cpuTimeMs).toBeGreaterThanOrEqual(240);
    expect(bomb.elapsedMs).toBeLessThan(1_250);
    expectBystanderUnaffected(bomb, bystander, true);
  });

  it('does not count time spent waiting on tools', async () => {
    const outcome = await runCode(pool, 'await tools.slow(); await tools.slow(); return "done"', {
      tools: { slow: () => new Promise((resolve) => setTimeout(() => resolve(1), 200)) },
      limits: { maxCpuTime: 150 },
    });
    expect(outcome.final).toMatchObject({ ok: true, result: 'done' });
    expect(outcome.final.stats.cpuTimeMs).toBeLessThan(150);
  });
});

describe('memory', () => {
  it.each([
    ['growing arrays', 'const keep = []; while (true) keep.push(new Array(10000).fill(1))'],
    ['string doubling', "let s = 'x'; while (true) { s = s + s; s.indexOf('y') }"],
    ['string doubling without use', "let s = 'x'; while (true) s = s + s"],
    ['ArrayBuffer allocations', 'const keep = []; while (true) keep.push(new ArrayBuffer(1 << 20))'],
    ['one huge ArrayBuffer', 'return new ArrayBuffer(2 ** 30).byteLength'],
    ['one huge string', "return 'x'.repeat(2 ** 28).length"],
    [
      'a bomb that catches the failure',
      "try { const keep = []; while (true) keep.push(new Array(10000).fill(1)) } catch (error) {} return 'survived'",
    ],
  ])('stops %s with MEMORY_LIMIT_EXCEEDED inside its own sandbox', async (_name, code) => {
    const { bomb, bystander } = await runWithBystander(pool, code, {
      limits: { memoryLimit: 32 * MiB, timeout: 5_000 },
    });
    expectFailedWith(bomb, 'MEMORY_LIMIT_EXCEEDED');
    expect(bomb.elapsedMs).toBeLessThan(6_000);
    expectBystanderUnaffected(bomb, bystander, false);
  });

  it('lets a session use memory below its limit, and the next one starts clean', async () => {
    const big = await runCode(pool, 'const a = new Array(200000).fill(7); return a.length', {
      limits: { memoryLimit: 32 * MiB },
    });
    expect(big.final).toMatchObject({ ok: true, result: 200000 });
    const next = await runCode(pool, 'return 1 + 2');
    expect(next.final.result).toBe(3);
  });
});

describe('stack', () => {
  it.each([
    ['direct recursion', 'function f() { return f() + 1 } return f()'],
    ['mutual recursion', 'function a(n) { return b(n + 1) } function b(n) { return a(n + 1) } return a(0)'],
    ['deep recursion with an argument', 'function f(n) { return n === 0 ? 0 : 1 + f(n - 1) } return f(1e6)'],
    [
      'async recursion',
      'async function f(n) { return n === 0 ? 0 : 1 + await f(n - 1) } return await f(1e6)',
    ],
    ['a deeply nested JSON text', "return JSON.parse('['.repeat(1e5) + ']'.repeat(1e5)).length"],
    ['a deeply nested eval', "return eval('('.repeat(1e5) + '1' + ')'.repeat(1e5))"],
    ['a chain of proxies', 'let p = {}; for (let i = 0; i < 1e5; i++) p = new Proxy(p, {}); return p.x'],
    ['recursive toString', 'let o = []; for (let i = 0; i < 1e5; i++) o = [o]; return String(o).length'],
  ])('stops %s with STACK_OVERFLOW as a guest error', async (_name, code) => {
    const { bomb, bystander } = await runWithBystander(pool, code, { limits: { maxStackSize: 192 * 1024 } });
    expectFailedWith(bomb, 'STACK_OVERFLOW');
    expect(bomb.elapsedMs).toBeLessThan(5_000);
    expectBystanderUnaffected(bomb, bystander, false);
  });

  it('lets the guest catch a stack overflow and go on', async () => {
    const outcome = await runCode(
      pool,
      "function f() { return f() + 1 } try { f() } catch (error) { return error.name + ': ' + error.message }",
    );
    expect(outcome.final).toMatchObject({ ok: true, result: 'InternalError: stack overflow' });
  });
});

describe('after the bombs', () => {
  it('still runs sessions on every thread and has none left running', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, index) => runCode(pool, `return ${index} * 2`)),
    );
    expect(outcomes.map((outcome) => outcome.final.result)).toEqual([0, 2, 4, 6, 8, 10, 12, 14]);
    expect(pool.activeSessions).toBe(0);
  });
});
