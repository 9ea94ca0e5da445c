/**
 * The sandbox engine and its worker-thread pool (the embedded path), each figure beside a baseline
 * measured in the same run. Run with `npx tsx bench/index.ts runtime`.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { format } from 'node:util';
import vm from 'node:vm';
import { Worker } from 'node:worker_threads';
import { resolveLimits, type SessionLimits } from '@enclave-vm/types';
import type { ExecutionHandle, SessionExecutor } from '../packages/runtime/src/executor/execution-types.js';
import { createInThreadExecutor } from '../packages/runtime/src/executor/in-thread-executor.js';
import { createSandboxPool } from '../packages/runtime/src/pool/sandbox-pool.js';
import { percentile, sample } from './lib/measure.js';
import type { BenchFigure, Benchmark } from './lib/report.js';
import { runSession, sleep, throughput } from './lib/sessions.js';

const LIMITS: SessionLimits = resolveLimits('STANDARD', {
  maxToolCalls: 100_000,
  timeout: 60_000,
  maxCpuTime: 60_000,
});
/** Runs code to its end, answering every tool call with `1` at once. */
function run(executor: SessionExecutor, code: string, limits: SessionLimits = LIMITS): Promise<unknown> {
  return runSession(executor, code, limits);
}

/** µs of CPU (user + system, every thread of the process) since `since`. */
function cpuMicrosecondsSince(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return used.user + used.system;
}

/**
 * µs per round trip of a small message to a bare worker thread that echoes it, wall clock and
 * process CPU (steadier than the wall clock on a shared machine).
 */
async function bareRoundTrip(count: number): Promise<{ wall: number; cpu: number }> {
  const worker = new Worker(
    "const { parentPort } = require('node:worker_threads'); parentPort.on('message', (message) => parentPort.postMessage(message));",
    { eval: true },
  );
  let resolveNext: (() => void) | undefined;
  worker.on('message', () => resolveNext?.());
  const once = () =>
    new Promise<void>((resolve) => {
      resolveNext = resolve;
      worker.postMessage({ type: 'results', results: [1, 'call_1', { ok: true, result: 1 }] });
    });
  for (let index = 0; index < 200; index++) await once();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (let index = 0; index < count; index++) await once();
  const elapsed = performance.now() - started;
  const cpu = cpuMicrosecondsSince(cpuBefore);
  await worker.terminate();
  return { wall: (elapsed * 1000) / count, cpu: cpu / count };
}

function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

const benchmark: Benchmark = {
  title: 'Runtime: QuickJS sandboxes on a worker-thread pool',
  async run(): Promise<BenchFigure[]> {
    const figures: BenchFigure[] = [];
    const pool = createSandboxPool({ size: 2, warmInstances: 4 });
    await pool.ready();
    for (let index = 0; index < 200; index++) await run(pool, 'return 1 + 2');

    // 1. Session start + `return 1 + 2` to final.
    const plain = async () => 1 + 2;
    const baselineSamples = await sample(() => plain(), 2000, 200);
    const backToBack = await sample(() => run(pool, 'return 1 + 2'), 1000, 50);
    // On an idle pool (2 ms between sessions, so that threads have refilled their warm sandboxes).
    const spacedSamples: number[] = [];
    for (let index = 0; index < 300; index++) {
      await sleep(2);
      const started = performance.now();
      await run(pool, 'return 1 + 2');
      spacedSamples.push(performance.now() - started);
    }
    figures.push(
      {
        name: 'session start + `return 1 + 2` to final, p50 (idle pool)',
        value: percentile(spacedSamples, 50),
        unit: 'ms',
        baselineName: 'plain Node async function',
        baseline: percentile(baselineSamples, 50),
        higherIsBetter: false,
        goal: { value: 0.4 },
      },
      {
        name: 'session start + `return 1 + 2` to final, p99 (idle pool)',
        value: percentile(spacedSamples, 99),
        unit: 'ms',
        baselineName: 'plain Node async function',
        baseline: percentile(baselineSamples, 99),
        higherIsBetter: false,
      },
      {
        name: 'session start + `return 1 + 2` to final, p50 (back to back)',
        value: percentile(backToBack, 50),
        unit: 'ms',
        baselineName: 'plain Node async function',
        baseline: percentile(baselineSamples, 50),
        higherIsBetter: false,
        goal: { value: 0.4 },
      },
      {
        name: 'session start + `return 1 + 2` to final, p99 (back to back)',
        value: percentile(backToBack, 99),
        unit: 'ms',
        baselineName: 'plain Node async function',
        baseline: percentile(baselineSamples, 99),
        higherIsBetter: false,
      },
    );

    // 2. Executions per second with 50 concurrent sessions, beside node:vm (a fresh context per run).
    const vmRun = () => vm.runInNewContext('(async () => 1 + 2)()') as Promise<number>;
    const vmRate = await throughput(vmRun, 50, 1500);
    const poolRate = await throughput(() => run(pool, 'return 1 + 2'), 50, 3000);
    figures.push({
      name: 'executions/s, 50 concurrent',
      value: poolRate,
      unit: 'ops/s',
      baselineName: 'node:vm fresh context, same thread',
      baseline: vmRate,
      higherIsBetter: true,
      goal: { value: 2000 },
    });

    // 3. Sequential tool calls.
    const calls = 3000;
    // The per-call path (V8's code for the bridge and the pool messages) reaches its steady state
    // after a few thousand calls: warm it up first.
    await run(pool, 'for (let i = 0; i < 5000; i++) await tools.x({ i })');
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    await run(pool, `for (let i = 0; i < ${calls}; i++) await tools.x({ i })`);
    const perCall = ((performance.now() - started) * 1000) / calls;
    const cpuPerCall = cpuMicrosecondsSince(cpuBefore) / calls;
    const host = async (args: { i: number }) => args.i;
    const hostStarted = performance.now();
    for (let index = 0; index < 100_000; index++) await host({ i: index });
    const hostPerCall = ((performance.now() - hostStarted) * 1000) / 100_000;
    const roundTrip = await bareRoundTrip(3000);
    figures.push(
      {
        name: 'sequential tool call',
        value: perCall,
        unit: 'µs',
        baselineName: 'bare worker_threads postMessage round trip',
        baseline: roundTrip.wall,
        higherIsBetter: false,
        goal: { ratio: 1.3 },
      },
      {
        name: 'sequential tool call, process CPU (all threads)',
        value: cpuPerCall,
        unit: 'µs',
        baselineName: 'bare round trip, process CPU',
        baseline: roundTrip.cpu,
        higherIsBetter: false,
      },
      {
        name: 'sequential tool call',
        value: perCall,
        unit: 'µs',
        baselineName: 'plain awaited host function',
        baseline: hostPerCall,
        higherIsBetter: false,
      },
    );

    // 4. 1,000 calls issued at once with Promise.all.
    const concurrentCode = 'await Promise.all(Array.from({ length: 1000 }, (_, i) => tools.x({ i })))';
    for (let index = 0; index < 5; index++) await run(pool, concurrentCode);
    const concurrentCpuBefore = process.cpuUsage();
    const concurrentSamples = await sample(() => run(pool, concurrentCode), 20, 0);
    const concurrentCpuPerCall = cpuMicrosecondsSince(concurrentCpuBefore) / (20 * 1000);
    const hostConcurrent = await sample(
      () => Promise.all(Array.from({ length: 1000 }, (_, index) => host({ i: index }))),
      50,
      5,
    );
    figures.push(
      {
        name: 'tool call, 1,000 at once with Promise.all (per call)',
        value: percentile(concurrentSamples, 50),
        unit: 'µs',
        baselineName: 'plain host Promise.all per call',
        baseline: percentile(hostConcurrent, 50),
        higherIsBetter: false,
        goal: { value: 5 },
      },
      {
        name: 'tool call, 1,000 at once, process CPU per call (all threads)',
        value: concurrentCpuPerCall,
        unit: 'µs',
        baselineName: 'plain host Promise.all per call',
        baseline: percentile(hostConcurrent, 50),
        higherIsBetter: false,
      },
    );

    // 5. CPU-bound code: fib(25) in a sandbox and in plain Node (same thread, in-thread executor).
    const inThread = createInThreadExecutor();
    await inThread.prewarm();
    const fibCode = 'function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2) } return fib(25)';
    await run(inThread, fibCode);
    const fibSandbox = await sample(() => run(inThread, fibCode), 5, 1);
    const fibNode = await sample(() => fib(25), 20, 5);
    figures.push({
      name: 'fib(25)',
      value: percentile(fibSandbox, 50),
      unit: 'ms',
      baselineName: 'plain Node',
      baseline: percentile(fibNode, 50),
      higherIsBetter: false,
      goal: { ratio: 12 },
    });

    // 6. 10,000 console lines.
    const consoleCode = "for (let i = 0; i < 10000; i++) console.log('line', i, 'of output')";
    await run(pool, consoleCode);
    const consoleSandbox = await sample(() => run(pool, consoleCode), 5, 1);
    const sink = new Writable({
      write(_chunk, _encoding, callback) {
        callback();
      },
    });
    const consoleNode = await sample(
      () => {
        for (let index = 0; index < 10_000; index++) sink.write(`${format('line', index, 'of output')}\n`);
      },
      10,
      2,
    );
    figures.push({
      name: '10,000 console lines',
      value: percentile(consoleSandbox, 50),
      unit: 'ms',
      baselineName: 'Node util.format to a no-op stream',
      baseline: percentile(consoleNode, 50),
      higherIsBetter: false,
    });

    // 7. Memory per idle session (waiting on a tool), RSS of the whole process (pool threads included).
    const idleCount = 200;
    const idleLimits = resolveLimits('STANDARD', { timeout: 60_000 });
    global.gc?.();
    await sleep(200);
    const rssBefore = process.memoryUsage().rss;
    const idleHandles: ExecutionHandle[] = [];
    for (let index = 0; index < idleCount; index++) {
      idleHandles.push(
        pool.execute(
          { sessionId: `idle_${index}`, code: 'await tools.wait()', limits: idleLimits },
          () => undefined,
        ),
      );
    }
    await sleep(1500);
    const rssIdle = process.memoryUsage().rss;
    for (const handle of idleHandles) handle.cancel();
    await Promise.all(idleHandles.map((handle) => handle.done));
    // The baseline lives in this thread's V8 heap, so its delta is read from the heap, not the RSS.
    const vmContexts: vm.Context[] = [];
    const vmBefore = process.memoryUsage().heapUsed;
    for (let index = 0; index < idleCount; index++) vmContexts.push(vm.createContext({}));
    const vmAfter = process.memoryUsage().heapUsed;
    figures.push({
      name: 'memory per idle session (process RSS delta, pool threads included)',
      value: (rssIdle - rssBefore) / idleCount / 1024,
      unit: 'KB',
      baselineName: 'node:vm context, V8 heap delta',
      baseline: (vmAfter - vmBefore) / vmContexts.length / 1024,
      higherIsBetter: false,
    });

    // 8. Event-loop delay of the host while a guest spins on a pool thread.
    const idleDelay = monitorEventLoopDelay({ resolution: 1 });
    idleDelay.enable();
    await sleep(1000);
    idleDelay.disable();
    const spinDelay = monitorEventLoopDelay({ resolution: 1 });
    spinDelay.enable();
    const spinLimits = resolveLimits('STANDARD', { timeout: 1000, maxCpuTime: 10_000 });
    const spinning = pool.execute(
      { sessionId: 'spinner', code: 'while (true) {}', limits: spinLimits },
      () => undefined,
    );
    await spinning.done;
    spinDelay.disable();
    figures.push({
      name: 'host event-loop delay p99 while a guest spins',
      value: spinDelay.percentile(99) / 1e6,
      unit: 'ms',
      baselineName: 'same, pool idle',
      baseline: idleDelay.percentile(99) / 1e6,
      higherIsBetter: false,
    });

    await inThread.close();
    await pool.close();
    return figures;
  },
};

export default benchmark;
