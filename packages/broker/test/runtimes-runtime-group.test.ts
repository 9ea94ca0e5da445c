import { createRuntimeWorker, type RuntimeWorker } from '@enclave-vm/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { createSessionExecutor } from '../src/runtimes/create-session-executor.js';
import { RuntimeGroup } from '../src/runtimes/runtime-group.js';
import {
  freePort,
  killRuntimeProcess,
  type RuntimeProcess,
  startRun,
  startRuntimeProcess,
  waitUntil,
} from './runtimes-test-helpers.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const fastReconnect = { initialDelay: 50, maxDelay: 400, backoffMultiplier: 2, jitter: 0.5 };

describe('extracted mode over several runtime workers (RuntimeGroup)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function startWorker(): Promise<RuntimeWorker & { url: string }> {
    const worker = createRuntimeWorker({ port: 0, poolSize: 1 });
    const address = await worker.start();
    cleanups.push(() => worker.stop());
    return Object.assign(worker, { url: address.url });
  }

  it('runs a session on a single runtimeUrl', { timeout: 30_000 }, async () => {
    const worker = await startWorker();
    const executor = await createSessionExecutor({ mode: 'extracted', runtimeUrl: worker.url }, quiet);
    cleanups.push(() => executor.close());
    const run = startRun(executor, 'console.log("remote"); return 1 + 2');
    expect(await run.handle.done).toMatchObject({ ok: true, result: 3 });
    expect(run.events.map((event) => event.type)).toEqual(['stdout', 'final']);
  });

  it('sends each new session to the least-loaded worker', { timeout: 30_000 }, async () => {
    const first = await startWorker();
    const second = await startWorker();
    const group = new RuntimeGroup({ urls: [first.url, second.url], logger: quiet });
    cleanups.push(() => group.close());
    await group.start();
    await waitUntil(() => group.connectedWorkers === 2, 'both workers', 5_000);

    const runs = [0, 1, 2, 3].map(() => startRun(group, 'return await tools.wait({})'));
    const callIds: string[] = [];
    for (const run of runs) callIds.push(await run.nextToolCall());
    expect([first.activeSessions, second.activeSessions]).toEqual([2, 2]);
    expect(group.activeSessions).toBe(4);
    runs.forEach((run, index) => {
      run.handle.submitToolResult(callIds[index] ?? '', { ok: true, result: 'done' });
    });
    for (const run of runs) expect(await run.handle.done).toMatchObject({ ok: true, result: 'done' });
    expect(group.activeSessions).toBe(0);
  });

  it('ends the sessions of a killed worker within 2 s, moves new sessions to the other, and reconnects', {
    timeout: 30_000,
  }, async () => {
    let doomed: RuntimeProcess | undefined = await startRuntimeProcess();
    cleanups.push(() => killRuntimeProcess(doomed));
    const survivor = await startWorker();
    const group = new RuntimeGroup({
      urls: [doomed.url, survivor.url],
      logger: quiet,
      reconnect: fastReconnect,
    });
    cleanups.push(() => group.close());
    await group.start();
    await waitUntil(() => group.connectedWorkers === 2, 'both workers', 5_000);

    const runs = [
      startRun(group, 'return await tools.wait({})'),
      startRun(group, 'return await tools.wait({})'),
    ];
    const callIds: string[] = [];
    for (const run of runs) callIds.push(await run.nextToolCall());
    expect(survivor.activeSessions).toBe(1);

    const killedAt = Date.now();
    doomed.child.kill('SIGKILL');
    const [lostIndex, lostFinal] = await Promise.race(
      runs.map((run, index) => run.handle.done.then((final) => [index, final] as const)),
    );
    expect(Date.now() - killedAt).toBeLessThan(2_000);
    expect(lostFinal).toMatchObject({ ok: false, error: { code: 'RUNTIME_DISCONNECTED' } });
    expect(runs[lostIndex]?.events.slice(-2).map((event) => event.type)).toEqual(['error', 'final']);
    expect(group.connectedWorkers).toBe(1);
    const keptIndex = 1 - lostIndex;
    runs[keptIndex]?.handle.submitToolResult(callIds[keptIndex] ?? '', { ok: true, result: 'kept' });
    expect(await runs[keptIndex]?.handle.done).toMatchObject({ ok: true, result: 'kept' });

    const after = [0, 1, 2].map(() => startRun(group, 'return 6 * 7'));
    for (const run of after) expect(await run.handle.done).toMatchObject({ ok: true, result: 42 });

    const port = doomed.port;
    await doomed.exited;
    doomed = await startRuntimeProcess(port);
    await waitUntil(
      () => group.connectedWorkers === 2,
      'the group to reconnect to the restarted worker',
      10_000,
    );
    const spread = [0, 1].map(() => startRun(group, 'return await tools.wait({})'));
    for (const run of spread) await run.nextToolCall();
    expect(survivor.activeSessions).toBe(1);
    for (const run of spread) run.handle.cancel('test over');
    for (const run of spread)
      expect(await run.handle.done).toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
  });

  it('ends the sessions of a worker that stops with error + final and keeps serving on the other', {
    timeout: 30_000,
  }, async () => {
    const stopping = await startWorker();
    const staying = await startWorker();
    const group = new RuntimeGroup({
      urls: [stopping.url, staying.url],
      logger: quiet,
      reconnect: fastReconnect,
    });
    cleanups.push(() => group.close());
    await group.start();
    await waitUntil(() => group.connectedWorkers === 2, 'both workers', 5_000);
    const runs = [
      startRun(group, 'return await tools.wait({})'),
      startRun(group, 'return await tools.wait({})'),
    ];
    const callIds: string[] = [];
    for (const run of runs) callIds.push(await run.nextToolCall());
    expect(staying.activeSessions).toBe(1);
    await stopping.stop();
    const [endedIndex, ended] = await Promise.race(
      runs.map((run, index) => run.handle.done.then((final) => [index, final] as const)),
    );
    expect(ended).toMatchObject({ ok: false, error: { code: 'SHUTTING_DOWN' } });
    expect(runs[endedIndex]?.events.slice(-2).map((event) => event.type)).toEqual(['error', 'final']);
    await waitUntil(() => group.connectedWorkers === 1, 'the stopped worker to drop out', 2_000);
    const keptIndex = 1 - endedIndex;
    runs[keptIndex]?.handle.submitToolResult(callIds[keptIndex] ?? '', { ok: true, result: 'kept' });
    expect(await runs[keptIndex]?.handle.done).toMatchObject({ ok: true, result: 'kept' });
    expect(await startRun(group, 'return "still here"').handle.done).toMatchObject({
      ok: true,
      result: 'still here',
    });
  });

  it('ends a session at once with RUNTIME_UNAVAILABLE when no worker is up', async () => {
    const port = await freePort();
    const group = new RuntimeGroup({ urls: [`ws://127.0.0.1:${port}`], logger: quiet, startupTimeout: 300 });
    cleanups.push(() => group.close());
    await group.start();
    const run = startRun(group, 'return 1');
    const final = await run.handle.done;
    expect(final).toMatchObject({ ok: false, error: { code: 'RUNTIME_UNAVAILABLE' } });
    expect(final.error?.message).toContain(`ws://127.0.0.1:${port}`);
    expect(run.events.map((event) => event.type)).toEqual(['error', 'final']);
    expect(() => run.handle.submitToolResult('call_1', { ok: true, result: 1 })).toThrow(/has ended/);
  });

  it('refuses to start when every worker rejects the token', { timeout: 30_000 }, async () => {
    const worker = createRuntimeWorker({ port: 0, poolSize: 1, authToken: 'right' });
    const { url } = await worker.start();
    cleanups.push(() => worker.stop());
    await expect(
      createSessionExecutor({ mode: 'extracted', runtimeUrl: url, runtimeAuthToken: 'wrong' }, quiet),
    ).rejects.toMatchObject({
      code: 'CONFIGURATION_ERROR',
      message: expect.stringContaining('refused the credentials'),
      cause: { code: 'UNAUTHORIZED' },
    });
    const executor = await createSessionExecutor({ runtimeUrl: [url], runtimeAuthToken: 'right' }, quiet);
    cleanups.push(() => executor.close());
    expect(await startRun(executor, 'return "in"').handle.done).toMatchObject({ ok: true, result: 'in' });
  });
});
