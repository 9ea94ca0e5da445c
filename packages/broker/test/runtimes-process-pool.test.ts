import { afterEach, describe, expect, it } from 'vitest';
import type { BrokerOptions } from '../src/options/broker-options.js';
import { createSessionExecutor } from '../src/runtimes/create-session-executor.js';
import { RuntimeProcessPool } from '../src/runtimes/runtime-process-pool.js';
import { PACKAGE_ROOT, startScript } from './example-helpers.js';
import { isProcessAlive, killProcess, startRun, waitUntil } from './runtimes-test-helpers.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

describe('runtime process pool (runtimePool)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A broker's `runtimePool` of one single-thread process, closed after the test. */
  async function oneProcessPool(options: BrokerOptions = {}): Promise<RuntimeProcessPool> {
    const executor = await createSessionExecutor(
      {
        runtimePool: {
          minSize: 1,
          maxSize: 1,
          scaleUpThreshold: 0.9,
          scaleDownThreshold: 0.1,
          scaleInterval: 1000,
        },
        poolSize: 1,
        ...options,
      },
      quiet,
    );
    cleanups.push(() => executor.close());
    return executor as RuntimeProcessPool;
  }

  it('starts minSize processes, scales up under load and back down, replaces a killed process, and stops all on close', {
    timeout: 60_000,
  }, async () => {
    // Each process takes 100 sessions; one waiting session is a load of 0.01, above scaleUpThreshold.
    const pool = new RuntimeProcessPool({
      minSize: 1,
      maxSize: 2,
      scaleUpThreshold: 0.005,
      scaleDownThreshold: 0.001,
      scaleInterval: 100,
      poolSize: 1,
      logger: quiet,
    });
    cleanups.push(() => pool.close());
    await pool.start();
    expect(pool.size).toBe(1);
    const [first] = pool.processList;
    expect(first).toMatchObject({ state: 'running', maxSessions: 100 });
    expect(isProcessAlive(first?.pid)).toBe(true);

    const waiting = startRun(pool, 'return await tools.wait({})');
    const callId = await waiting.nextToolCall();
    await waitUntil(
      () => pool.processList.filter((entry) => entry.state === 'running').length === 2,
      'a second process',
      15_000,
    );
    expect(pool.size).toBe(2);

    waiting.handle.submitToolResult(callId, { ok: true, result: 'answered' });
    expect(await waiting.handle.done).toMatchObject({ ok: true, result: 'answered' });
    await waitUntil(() => pool.size === 1, 'the pool to shrink back to minSize', 10_000);
    const [survivor] = pool.processList;

    killProcess(survivor?.pid);
    await waitUntil(
      () => pool.processList.some((entry) => entry.state === 'running' && entry.pid !== survivor?.pid),
      'a replacement process',
      15_000,
    );
    expect(isProcessAlive(survivor?.pid)).toBe(false);
    expect(await startRun(pool, 'return "replaced"').handle.done).toMatchObject({
      ok: true,
      result: 'replaced',
    });

    const pids = pool.processList.map((entry) => entry.pid);
    const stillWaiting = startRun(pool, 'return await tools.wait({})');
    await stillWaiting.nextToolCall();
    await pool.close();
    expect(await stillWaiting.handle.done).toMatchObject({ ok: false, error: { code: 'SHUTTING_DOWN' } });
    expect(pids.filter(isProcessAlive)).toEqual([]);
    expect(pool.size).toBe(0);
  });

  it('ends the sessions of a process that crashes with RUNTIME_DISCONNECTED', {
    timeout: 30_000,
  }, async () => {
    const pool = await oneProcessPool();
    const run = startRun(pool, 'return await tools.wait({})');
    await run.nextToolCall();
    killProcess(pool.processList[0]?.pid);
    expect(await run.handle.done).toMatchObject({ ok: false, error: { code: 'RUNTIME_DISCONNECTED' } });
    expect(run.events.slice(-2).map((event) => event.type)).toEqual(['error', 'final']);
  });

  it.each([
    [50, 1],
    [Number.POSITIVE_INFINITY, 0],
  ])(
    'passes parkAfterMs: %s to its processes, which report %i session(s) parked',
    {
      timeout: 30_000,
    },
    async (parkAfterMs, parked) => {
      const pool = await oneProcessPool({ parkAfterMs });
      const run = startRun(pool, 'const base = 40; return base + (await tools.wait({}));');
      const callId = await run.nextToolCall();
      if (parked === 1) {
        await waitUntil(() => pool.parkedSessions === 1, 'the process to report the session parked');
      } else {
        // Past the processes' default of a second, and two of their checks of the count.
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        expect(pool.parkedSessions).toBe(0);
      }
      run.handle.submitToolResult(callId, { ok: true, result: 2 });
      expect(await run.handle.done).toMatchObject({ ok: true, result: 42 });
      await waitUntil(() => pool.parkedSessions === 0, 'the process to report none parked');
    },
  );
});

describe('runtime processes of a broker that dies', () => {
  it('stop by themselves when the broker process is killed', { timeout: 30_000 }, async () => {
    const script = [
      "import { RuntimeProcessPool } from './src/runtimes/runtime-process-pool.ts';",
      'const pool = new RuntimeProcessPool({ minSize: 2, maxSize: 2, scaleUpThreshold: 0.9, scaleDownThreshold: 0.1, scaleInterval: 1000, poolSize: 1 });',
      'await pool.start();',
      "console.log('PIDS ' + pool.processList.map((entry) => entry.pid).join(' '));",
    ].join('\n');
    const broker = startScript(['--import', 'tsx', '--input-type=module', '-e', script], PACKAGE_ROOT, {});
    const [, pids] = await broker.waitForLine(/^PIDS ([\d ]+)$/);
    const runtimePids = (pids ?? '').split(' ').map(Number);
    expect(runtimePids.filter(isProcessAlive)).toHaveLength(2);
    await broker.stop('SIGKILL');
    await waitUntil(
      () => runtimePids.filter(isProcessAlive).length === 0,
      'the orphaned runtime processes to stop',
      10_000,
    );
  });
});
