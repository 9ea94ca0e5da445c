/**
 * What isolation costs: a fresh engine instance for every session (the default: cloned from the
 * thread's template onto a wiped memory) beside opted-in reuse of one instance by the sessions of
 * one isolation key (the way every session ran before), measured in the same run on two pools of
 * the same size. Run with `pnpm bench isolation`.
 */
import { performance } from 'node:perf_hooks';
import { resolveLimits, type SessionLimits } from '@enclave-vm/types';
import type { ExecutionHandle, SessionExecutor } from '../packages/runtime/src/executor/execution-types.js';
import { createSandboxPool, type SandboxPool } from '../packages/runtime/src/pool/sandbox-pool.js';
import { percentile } from './lib/measure.js';
import type { BenchFigure, Benchmark } from './lib/report.js';
import { runSession, sleep, throughput } from './lib/sessions.js';

const LIMITS: SessionLimits = resolveLimits('STANDARD', { timeout: 60_000, maxCpuTime: 60_000 });
const PAUSED_SESSIONS = 1000;
let sessionCounter = 0;

function run(executor: SessionExecutor, code: string, isolationKey?: string): Promise<unknown> {
  return runSession(executor, code, LIMITS, isolationKey);
}

/** p50 of session start + `return 1 + 2` to final on an idle pool (2 ms between sessions). */
async function idleStart(pool: SandboxPool, isolationKey?: string): Promise<number> {
  const samples: number[] = [];
  for (let index = 0; index < 400; index++) {
    await sleep(2);
    const started = performance.now();
    await run(pool, 'return 1 + 2', isolationKey);
    samples.push(performance.now() - started);
  }
  return percentile(samples, 50);
}

/** RSS growth (MB) while PAUSED_SESSIONS sessions each wait on an unanswered tool call. */
async function pausedMemory(pool: SandboxPool, isolationKey?: string): Promise<number> {
  global.gc?.();
  await sleep(200);
  const before = process.memoryUsage().rss;
  const handles: ExecutionHandle[] = [];
  let paused = 0;
  let resolveAll!: () => void;
  const allPaused = new Promise<void>((resolve) => {
    resolveAll = resolve;
  });
  for (let index = 0; index < PAUSED_SESSIONS; index++) {
    sessionCounter += 1;
    handles.push(
      pool.execute(
        {
          sessionId: `paused_${sessionCounter}`,
          code: 'const data = Array.from({ length: 100 }, (_, i) => ({ i })); return await tools.wait({ n: data.length })',
          limits: LIMITS,
          isolationKey,
        },
        (event) => {
          if (event.type === 'tool_call') {
            paused += 1;
            if (paused === PAUSED_SESSIONS) resolveAll();
          }
        },
      ),
    );
  }
  await allPaused;
  await sleep(300);
  const during = process.memoryUsage().rss;
  for (const handle of handles) handle.cancel('benchmark done');
  await Promise.all(handles.map((handle) => handle.done));
  return (during - before) / (1024 * 1024);
}

const benchmark: Benchmark = {
  title: 'Isolation: a fresh engine instance per session, beside opted-in instance reuse',
  async run(): Promise<BenchFigure[]> {
    const options = { size: 2, warmInstances: 4, maxSessionsPerThread: 1000 };
    const fresh = createSandboxPool(options);
    const reusing = createSandboxPool({ ...options, sessionsPerInstance: 1000 });
    await Promise.all([fresh.ready(), reusing.ready()]);
    const key = 'one-tenant';
    for (let index = 0; index < 300; index++) {
      await run(fresh, 'return 1 + 2');
      await run(reusing, 'return 1 + 2', key);
    }
    const figures: BenchFigure[] = [];

    const freshStart = await idleStart(fresh);
    const reusedStart = await idleStart(reusing, key);
    figures.push({
      name: 'session start + `return 1 + 2` to final, p50 (idle pool), fresh instance',
      value: freshStart,
      unit: 'ms',
      baselineName: 'reused instance (same key)',
      baseline: reusedStart,
      higherIsBetter: false,
      goal: { value: 0.5 },
    });

    // Alternate the two pools, so that both see the same machine load.
    let freshRate = 0;
    let reusedRate = 0;
    for (let round = 0; round < 2; round++) {
      freshRate += await throughput(() => run(fresh, 'return 1 + 2'), 50, 2000);
      reusedRate += await throughput(() => run(reusing, 'return 1 + 2', key), 50, 2000);
    }
    figures.push({
      name: 'executions/s, 50 concurrent, fresh instance per session',
      value: freshRate / 2,
      unit: 'ops/s',
      baselineName: 'reused instance (same key)',
      baseline: reusedRate / 2,
      higherIsBetter: true,
      goal: { value: 1000 },
    });

    const freshPaused = await pausedMemory(fresh);
    const reusedPaused = await pausedMemory(reusing, key);
    figures.push({
      name: `RSS growth, ${PAUSED_SESSIONS} sessions paused on a tool call, fresh instances`,
      value: freshPaused,
      unit: 'MB',
      baselineName: 'with instance reuse opted in',
      baseline: reusedPaused,
      higherIsBetter: false,
    });

    await Promise.all([fresh.close(), reusing.close()]);
    return figures;
  },
};

export default benchmark;
