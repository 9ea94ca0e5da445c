import { performance } from 'node:perf_hooks';

/** Runs `fn` repeatedly for about `durationMs` (after a warm-up) and returns operations per second. */
export async function opsPerSecond(
  fn: () => unknown | Promise<unknown>,
  {
    durationMs = 1000,
    warmupMs = 200,
    batch = 1,
  }: { durationMs?: number; warmupMs?: number; batch?: number } = {},
): Promise<number> {
  const warmupEnd = performance.now() + warmupMs;
  while (performance.now() < warmupEnd) await fn();
  let operations = 0;
  const start = performance.now();
  let now = start;
  while (now - start < durationMs) {
    await fn();
    operations += batch;
    now = performance.now();
  }
  return (operations / (now - start)) * 1000;
}

/** Times each of `count` runs of `fn` and returns the samples in ms. */
export async function sample(
  fn: () => unknown | Promise<unknown>,
  count: number,
  warmup = 20,
): Promise<number[]> {
  for (let index = 0; index < warmup; index++) await fn();
  const samples: number[] = [];
  for (let index = 0; index < count; index++) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  return samples;
}

/** The p-th percentile (0–100) of samples. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}
