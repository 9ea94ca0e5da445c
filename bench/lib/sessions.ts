/** Helpers of the benchmarks that run sessions on an executor (a pool, an in-thread executor). */
import { performance } from 'node:perf_hooks';
import type { SessionLimits } from '@enclave-vm/types';
import type {
  ExecutionHandle,
  SessionExecutor,
} from '../../packages/runtime/src/executor/execution-types.js';

let sessionCounter = 0;

/** Runs code to its end, answering every tool call with `1` at once; rejects when the run fails. */
export function runSession(
  executor: SessionExecutor,
  code: string,
  limits: SessionLimits,
  isolationKey?: string,
): Promise<unknown> {
  sessionCounter += 1;
  let handle: ExecutionHandle | undefined;
  handle = executor.execute({ sessionId: `bench_${sessionCounter}`, code, limits, isolationKey }, (event) => {
    if (event.type === 'tool_call') handle?.submitToolResult(event.payload.callId, { ok: true, result: 1 });
  });
  return handle.done.then((final) => {
    if (!final.ok) throw new Error(`benchmark session failed: ${final.error?.code} ${final.error?.message}`);
    return final.result;
  });
}

/** Executions completed per second by `concurrency` loops running for `durationMs`. */
export async function throughput(
  execute: () => Promise<unknown>,
  concurrency: number,
  durationMs: number,
): Promise<number> {
  let completed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() - started < durationMs) {
        await execute();
        completed += 1;
      }
    }),
  );
  return (completed / (performance.now() - started)) * 1000;
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
