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
import { loadQuickJSModule } from '../packages/runtime/src/sandbox/engine-loader.js';
import { SandboxProvider } from '../packages/runtime/src/sandbox/sandbox-provider.js';
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

/** The guest's fib, for the sandbox and the bare engine alike. */
const FIB_DEFINITION = 'function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2) }';

/** Warm-up calls before a per-call figure is measured: V8 and the engine's WebAssembly tier up. */
const WARM_UP_CALLS = 20_000;
/** Rounds of a per-call figure; the median round is reported, for the figure and its baseline. */
const ROUNDS = 5;

/**
 * µs of wall clock and of process CPU per call: `calls(n)` makes `n` calls, once with
 * {@link WARM_UP_CALLS} to warm up, then {@link ROUNDS} times with `count`; the median round is
 * reported. Figures and baselines go through it alike.
 */
async function perCallInRounds(
  count: number,
  calls: (n: number) => Promise<unknown>,
): Promise<{ wall: number; cpu: number }> {
  await calls(WARM_UP_CALLS);
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    await calls(count);
    walls.push(((performance.now() - started) * 1000) / count);
    cpus.push(cpuMicrosecondsSince(cpuBefore) / count);
  }
  return { wall: percentile(walls, 50), cpu: percentile(cpus, 50) };
}

/** `n` sequential calls of `once`. */
function repeated(once: () => Promise<unknown>): (n: number) => Promise<void> {
  return async (n) => {
    for (let index = 0; index < n; index++) await once();
  };
}

/**
 * µs per round trip over bare shared memory, the floor of the pool's channel: the caller bumps a
 * counter and `Atomics.notify`s; a bare worker thread blocked in `Atomics.wait` wakes, bumps a
 * second counter and notifies; the caller learns of it through `Atomics.waitAsync` (it must never
 * block). No data is copied: this is the cost of the two wake-ups alone.
 */
async function bareSharedMemoryRoundTrip(count: number): Promise<number> {
  const words = new Int32Array(new SharedArrayBuffer(16));
  const worker = new Worker(
    `const { workerData } = require('node:worker_threads');
     const words = new Int32Array(workerData);
     let seen = 0;
     for (;;) {
       Atomics.wait(words, 0, seen);
       seen = Atomics.load(words, 0);
       if (Atomics.load(words, 2) === 1) break;
       Atomics.add(words, 1, 1);
       Atomics.notify(words, 1);
     }`,
    { eval: true, workerData: words.buffer },
  );
  let answered = 0;
  const once = async () => {
    Atomics.add(words, 0, 1);
    Atomics.notify(words, 0);
    for (;;) {
      const value = Atomics.load(words, 1);
      if (value !== answered) {
        answered = value;
        return;
      }
      const waiting = (
        Atomics as unknown as {
          waitAsync(array: Int32Array, index: number, value: number): { async: boolean; value: unknown };
        }
      ).waitAsync(words, 1, value);
      if (waiting.async) await waiting.value;
    }
  };
  const measured = await perCallInRounds(count, repeated(once));
  Atomics.store(words, 2, 1);
  Atomics.add(words, 0, 1);
  Atomics.notify(words, 0);
  await worker.terminate();
  return measured.wall;
}

/** A QuickJS runtime and context of the sandbox's build with nothing of the sandbox around them. */
async function bareEngine() {
  const module = await loadQuickJSModule(new WebAssembly.Memory({ initial: 256, maximum: 2048 }));
  const runtime = module.newRuntime();
  const context = runtime.newContext();
  const dispose = (): void => {
    context.dispose();
    runtime.dispose();
  };
  return { runtime, context, dispose };
}

/** µs per call of the work behind one call of `Promise.all` over tool calls, by part (see {@link bareEnginePerCall}). */
interface EngineFloor {
  stringify: number;
  promise: number;
  all: number;
  textOut: number;
  textIn: number;
}

/**
 * µs of the least work behind one call of `Promise.all` over tool calls, in a bare engine (no
 * sandbox, no bridge, no host of ours), by part: QuickJS's own `JSON.stringify` of the arguments,
 * `new Promise`, and one element of `Promise.all` (resolved, its job run); the call's text leaving
 * the engine (appending `[5,id,"name",args]` to a list joined once per turn, then the host reading
 * that text out of the engine's memory and parsing it); and its result's text coming in (the
 * engine parsing a batch of `[id, ok, json]` results). Guest and host share no objects, so a call
 * and its result cross as text in any design. This is the floor of that figure.
 */
async function bareEnginePerCall(): Promise<EngineFloor> {
  const { runtime, context, dispose } = await bareEngine();
  const time = (setup: string, body: string, count: number): number => {
    let best = Number.POSITIVE_INFINITY;
    for (let round = 0; round < 5; round++) {
      const code = `(() => { ${setup}; for (let i = 0; i < ${count}; i++) { ${body} } })()`;
      const started = performance.now();
      context.unwrapResult(context.evalCode(code)).dispose();
      runtime.executePendingJobs(-1);
      best = Math.min(best, ((performance.now() - started) * 1000) / count);
    }
    return best;
  };
  const empty = time('', '', 20_000);
  const stringify = time('', 'JSON.stringify({ i })', 20_000) - empty;
  // One turn of 1,000 calls, as the guest writes them and the host reads them.
  const outgoing = Array.from({ length: 1000 }, (_, index) => `[5,${index},"x",{"i":${index}}]`).join(',');
  let hostRead = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 20; round++) {
    const handle = context.newString(outgoing);
    const started = performance.now();
    JSON.parse(`[${context.getString(handle)}]`);
    hostRead = Math.min(hostRead, ((performance.now() - started) * 1000) / 1000);
    handle.dispose();
  }
  const results = JSON.stringify(
    JSON.stringify(Array.from({ length: 1000 }, (_, index) => [index + 1, 1, '1'])),
  );
  const result: EngineFloor = {
    stringify,
    promise: time('const capture = () => {}', 'new Promise(capture)', 20_000) - empty,
    all: time('const values = Array.from({ length: 1000 }, (_, j) => j)', 'Promise.all(values)', 20) / 1000,
    textOut:
      time(
        'const out = []',
        "out.push('[5,' + i + ',\"x\",' + JSON.stringify({ i }) + ']'); if (out.length === 1000) { out.join(\",\"); out.length = 0 }",
        20_000,
      ) -
      empty -
      stringify +
      hostRead,
    textIn:
      (time(`const text = ${results}`, 'JSON.parse(text)', 20) - time(`const text = ${results}`, '', 20)) /
      1000,
  };
  dispose();
  return result;
}

/**
 * ms of `fib(25)` in a bare engine of the sandbox's build (no sandbox around it: no interrupt
 * handler, no limits, no bridge): what the interpreter itself takes, the floor of the fib figure.
 * The median of seven runs after two.
 */
async function bareEngineFib(): Promise<number> {
  const { context, dispose } = await bareEngine();
  context.unwrapResult(context.evalCode(FIB_DEFINITION)).dispose();
  const samples: number[] = [];
  for (let index = 0; index < 9; index++) {
    const started = performance.now();
    context.unwrapResult(context.evalCode('fib(25)')).dispose();
    if (index >= 2) samples.push(performance.now() - started);
  }
  dispose();
  return percentile(samples, 50);
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
  const measured = await perCallInRounds(count, repeated(once));
  await worker.terminate();
  return measured;
}

/**
 * What parking costs (see `parkAfterMs`): a session that built some state and waits on a tool is
 * parked (its differing pages compressed, its instance dropped) and restored, in this thread, beside
 * what a fresh sandbox costs (a clone of the template onto a wiped memory). Medians of 200 of each.
 */
async function parkingFigures(): Promise<BenchFigure[]> {
  const provider = new SandboxProvider({ warmInstances: 0, parkAfterMs: Number.POSITIVE_INFINITY });
  const memoryLimit = LIMITS.memoryLimit;
  const parks: number[] = [];
  const restores: number[] = [];
  const clones: number[] = [];
  const images: number[] = [];
  for (let round = 0; round < 220; round++) {
    let started = performance.now();
    const sandbox = await provider.acquire(memoryLimit).sandbox;
    const clone = performance.now() - started;
    sandbox.setInterruptCheck(() => false);
    sandbox.start({
      code: "const rows = Array.from({ length: 500 }, (_, i) => ({ i, name: 'row ' + i })); return (await tools.ask({ rows })) + rows.length",
      contextJson: '{}',
      maxToolCalls: 10,
      maxToolArgsBytes: LIMITS.maxToolArgsBytes,
      maxStdoutBytes: LIMITS.maxStdoutBytes,
      maxStackSize: LIMITS.maxStackSize,
    });
    started = performance.now();
    const parked = provider.park(sandbox, memoryLimit);
    const park = performance.now() - started;
    if (parked === undefined) throw new Error('the session could not be parked');
    started = performance.now();
    const restored = await provider.unpark(parked);
    const restore = performance.now() - started;
    restored.setInterruptCheck(() => false);
    const turn = restored.deliver('[[1,1,1]]');
    if (turn.outcome?.kind !== 'returned' || turn.outcome.json !== '501')
      throw new Error('the restored session failed');
    provider.release(restored, false);
    if (round < 20) continue;
    clones.push(clone);
    parks.push(park);
    restores.push(restore);
    images.push(parked.image.byteLength);
  }
  provider.close();
  return [
    {
      name: 'park a session waiting on a tool (its memory image compressed, its instance dropped)',
      value: percentile(parks, 50),
      unit: 'ms',
      baselineName: 'a fresh sandbox (template clone onto a wiped memory)',
      baseline: percentile(clones, 50),
      higherIsBetter: false,
    },
    {
      name: 'restore a parked session (a fresh instance with its image written back)',
      value: percentile(restores, 50),
      unit: 'ms',
      baselineName: 'a fresh sandbox (template clone onto a wiped memory)',
      baseline: percentile(clones, 50),
      higherIsBetter: false,
    },
    {
      name: 'memory image of a parked session',
      value: percentile(images, 50) / 1024,
      unit: 'KB',
      baselineName: 'the template image every instance holds',
      baseline: (provider.engineTemplate?.imageBytes ?? Number.NaN) / 1024,
      higherIsBetter: false,
    },
  ];
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
        goal: { value: 0.5 },
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
        goal: { value: 0.5 },
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
    // The per-call path (V8's code for the bridge and the pool messages, the engine's WebAssembly)
    // reaches its steady state after thousands of calls: warm it up as the baselines are, then
    // report the median of the rounds.
    const sequential = await perCallInRounds(calls, (n) =>
      run(pool, `for (let i = 0; i < ${n}; i++) await tools.x({ i })`),
    );
    const perCall = sequential.wall;
    const cpuPerCall = sequential.cpu;
    const host = async (args: { i: number }) => args.i;
    const hostStarted = performance.now();
    for (let index = 0; index < 100_000; index++) await host({ i: index });
    const hostPerCall = ((performance.now() - hostStarted) * 1000) / 100_000;
    const roundTrip = await bareRoundTrip(3000);
    const sharedRoundTrip = await bareSharedMemoryRoundTrip(3000);
    figures.push(
      {
        name: 'sequential tool call',
        value: perCall,
        unit: 'µs',
        baselineName: 'bare worker_threads postMessage round trip',
        baseline: roundTrip.wall,
        higherIsBetter: false,
        goal: { ratio: 0.8 },
      },
      {
        name: 'bare shared-memory round trip (Atomics.notify → Atomics.wait on the thread, → Atomics.waitAsync back)',
        value: sharedRoundTrip,
        unit: 'µs',
        baselineName: 'bare worker_threads postMessage round trip',
        baseline: roundTrip.wall,
        higherIsBetter: false,
      },
      {
        name: 'sequential tool call',
        value: perCall,
        unit: 'µs',
        baselineName: 'bare shared-memory round trip (the channel without data)',
        baseline: sharedRoundTrip,
        higherIsBetter: false,
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
    const engine = await bareEnginePerCall();
    const engineFloor = engine.stringify + engine.promise + engine.all + engine.textOut + engine.textIn;
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
        name: 'tool call, 1,000 at once with Promise.all (per call)',
        value: percentile(concurrentSamples, 50),
        unit: 'µs',
        baselineName: `bare QuickJS, same build: JSON.stringify of the arguments ${engine.stringify.toFixed(2)} + new Promise ${engine.promise.toFixed(2)} + one Promise.all element ${engine.all.toFixed(2)} + the call's text out of the engine ${engine.textOut.toFixed(2)} + its result's text in ${engine.textIn.toFixed(2)}`,
        baseline: engineFloor,
        higherIsBetter: false,
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
    const fibCode = `${FIB_DEFINITION} return fib(25)`;
    await run(inThread, fibCode);
    const fibSandbox = await sample(() => run(inThread, fibCode), 5, 1);
    const fibNode = await sample(() => fib(25), 20, 5);
    const fibBare = await bareEngineFib();
    figures.push(
      {
        name: 'fib(25)',
        value: percentile(fibSandbox, 50),
        unit: 'ms',
        baselineName: 'plain Node',
        baseline: percentile(fibNode, 50),
        higherIsBetter: false,
        goal: { ratio: 12 },
      },
      {
        name: 'fib(25), bare QuickJS of the same build (no sandbox)',
        value: fibBare,
        unit: 'ms',
        baselineName: 'plain Node',
        baseline: percentile(fibNode, 50),
        higherIsBetter: false,
      },
      {
        name: 'fib(25) in the sandbox',
        value: percentile(fibSandbox, 50),
        unit: 'ms',
        baselineName: 'bare QuickJS of the same build (no sandbox)',
        baseline: fibBare,
        higherIsBetter: false,
      },
    );

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

    // 8. Parking a session that waits on a tool, and restoring it, beside a fresh clone.
    figures.push(...(await parkingFigures()));

    // 9. Event-loop delay of the host while a guest spins on a pool thread.
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
