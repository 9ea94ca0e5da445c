import { EnclaveError } from '@enclave-vm/types';
import type { BrokerOptions, RuntimePoolOptions } from '../options/broker-options.js';

/** Where the broker's sessions run, as decided from its options by {@link resolveRuntimeMode}. */
export type RuntimeMode =
  | {
      /** An in-process worker-thread sandbox pool. */
      kind: 'embedded';
      /** Threads of the pool; undefined lets the pool choose (the number of cores). */
      poolSize: number | undefined;
      /** When a waiting session is parked; undefined keeps the pool's default (1 s). */
      parkAfterMs: number | undefined;
    }
  | {
      /** Runtime workers reached over WebSocket at fixed URLs. */
      kind: 'runtime-urls';
      /** The workers' URLs, without duplicates, in the order given. */
      urls: string[];
      /** Shared secret sent to each worker. */
      authToken: string | undefined;
    }
  | {
      /** Local runtime worker processes started and scaled by the broker. */
      kind: 'runtime-pool';
      /** The validated pool options. */
      pool: RuntimePoolOptions;
      /** Shared secret for the processes; undefined lets the pool generate a random one. */
      authToken: string | undefined;
      /** Sandbox threads per process; undefined lets each process choose (the number of cores). */
      poolSize: number | undefined;
      /** When a waiting session is parked in each process; undefined keeps the processes' default (1 s). */
      parkAfterMs: number | undefined;
    };

/**
 * Decides where sessions run and checks that the options agree with each other. `mode` defaults to
 * `'embedded'`, unless `runtimeUrl` or `runtimePool` is given, which imply `'extracted'`.
 *
 * Throws `CONFIGURATION_ERROR` for: an unknown `mode`; `mode: 'extracted'` with neither `runtimeUrl`
 * nor `runtimePool`; `mode: 'embedded'` with `runtimeUrl`, `runtimePool` or `runtimeAuthToken`; both
 * `runtimeUrl` and `runtimePool`; a URL that is not `ws://` or `wss://`; an empty or duplicate URL
 * list; an empty `runtimeAuthToken`; a `poolSize` that is not a positive integer; a `parkAfterMs` that
 * is not a number ≥ 0; `poolSize` or `parkAfterMs` with `runtimeUrl` (those workers are configured
 * on their own command line); and pool options that {@link validateRuntimePoolOptions} rejects.
 */
export function resolveRuntimeMode(options: BrokerOptions): RuntimeMode {
  const { mode, runtimeUrl, runtimePool, runtimeAuthToken, poolSize, parkAfterMs } = options;
  if (mode !== undefined && mode !== 'embedded' && mode !== 'extracted') {
    throw configurationError(`mode must be 'embedded' or 'extracted', got ${JSON.stringify(mode)}`);
  }
  if (poolSize !== undefined && (!Number.isInteger(poolSize) || poolSize < 1)) {
    throw configurationError(`poolSize must be a positive integer, got ${String(poolSize)}`);
  }
  if (
    parkAfterMs !== undefined &&
    (typeof parkAfterMs !== 'number' || Number.isNaN(parkAfterMs) || parkAfterMs < 0)
  ) {
    throw configurationError(
      `parkAfterMs must be a number of ms ≥ 0 (Infinity never parks), got ${String(parkAfterMs)}`,
    );
  }
  if (
    runtimeAuthToken !== undefined &&
    (typeof runtimeAuthToken !== 'string' || runtimeAuthToken.length === 0)
  ) {
    throw configurationError(
      'runtimeAuthToken must be a non-empty string; leave it out when the workers have no token',
    );
  }
  const wantsRuntimes = runtimeUrl !== undefined || runtimePool !== undefined;
  if (mode === 'embedded') {
    if (wantsRuntimes || runtimeAuthToken !== undefined) {
      const given = [
        runtimeUrl === undefined ? undefined : 'runtimeUrl',
        runtimePool === undefined ? undefined : 'runtimePool',
        runtimeAuthToken === undefined ? undefined : 'runtimeAuthToken',
      ].filter((name) => name !== undefined);
      throw configurationError(
        `${given.join(' and ')} only apply to mode 'extracted'; with mode 'embedded' sessions run in-process. ` +
          `Remove ${given.length > 1 ? 'them' : 'it'} or set mode: 'extracted'.`,
      );
    }
    return { kind: 'embedded', poolSize, parkAfterMs };
  }
  if (!wantsRuntimes) {
    if (mode === 'extracted') {
      throw configurationError(
        "mode 'extracted' needs runtimeUrl (e.g. 'ws://localhost:3001', or a list of worker URLs) " +
          'or runtimePool (local worker processes the broker starts)',
      );
    }
    if (runtimeAuthToken !== undefined) {
      throw configurationError(
        "runtimeAuthToken only applies to mode 'extracted' with runtimeUrl or runtimePool",
      );
    }
    return { kind: 'embedded', poolSize, parkAfterMs };
  }
  if (runtimeUrl !== undefined && runtimePool !== undefined) {
    throw configurationError(
      'Give either runtimeUrl (workers you run yourself) or runtimePool (worker processes the broker starts), not both',
    );
  }
  if (runtimePool !== undefined) {
    return {
      kind: 'runtime-pool',
      pool: validateRuntimePoolOptions(runtimePool),
      authToken: runtimeAuthToken,
      poolSize,
      parkAfterMs,
    };
  }
  const workerOptions = [
    poolSize === undefined ? undefined : 'poolSize',
    parkAfterMs === undefined ? undefined : 'parkAfterMs',
  ].filter((name) => name !== undefined);
  if (workerOptions.length > 0) {
    throw configurationError(
      `${workerOptions.join(' and ')} cannot apply to workers at runtimeUrl: each is set on the worker itself ` +
        '(enclave-runtime --pool-size, --park-after-ms). Remove it, or use runtimePool to have the broker start the workers.',
    );
  }
  return { kind: 'runtime-urls', urls: validateRuntimeUrls(runtimeUrl), authToken: runtimeAuthToken };
}

/** Checks `runtimeUrl` (one URL or a list) and returns the list. Throws `CONFIGURATION_ERROR`. */
export function validateRuntimeUrls(runtimeUrl: string | readonly string[] | undefined): string[] {
  const urls =
    typeof runtimeUrl === 'string' ? [runtimeUrl] : Array.isArray(runtimeUrl) ? [...runtimeUrl] : undefined;
  if (urls === undefined || urls.length === 0) {
    throw configurationError(
      `runtimeUrl must be a ws:// URL or a non-empty list of them, got ${JSON.stringify(runtimeUrl)}`,
    );
  }
  const seen = new Set<string>();
  for (const url of urls) {
    if (typeof url !== 'string' || !/^wss?:\/\/[^/\s]+/i.test(url)) {
      throw configurationError(`runtimeUrl entries must be ws:// or wss:// URLs, got ${JSON.stringify(url)}`);
    }
    if (seen.has(url)) throw configurationError(`runtimeUrl lists ${url} twice`);
    seen.add(url);
  }
  return urls;
}

/**
 * Checks {@link RuntimePoolOptions}: `minSize` an integer ≥ 1, `maxSize` an integer ≥ `minSize`,
 * thresholds numbers in [0, 1] with `scaleDownThreshold` < `scaleUpThreshold`, `scaleInterval` an
 * integer ≥ 10 ms. Returns a copy; throws `CONFIGURATION_ERROR` naming the first bad option.
 */
export function validateRuntimePoolOptions(pool: RuntimePoolOptions): RuntimePoolOptions {
  if (typeof pool !== 'object' || pool === null) {
    throw configurationError(
      'runtimePool must be an object { minSize, maxSize, scaleUpThreshold, scaleDownThreshold, scaleInterval }',
    );
  }
  const { minSize, maxSize, scaleUpThreshold, scaleDownThreshold, scaleInterval } = pool;
  if (!Number.isInteger(minSize) || minSize < 1) {
    throw configurationError(`runtimePool.minSize must be an integer ≥ 1, got ${String(minSize)}`);
  }
  if (!Number.isInteger(maxSize) || maxSize < minSize) {
    throw configurationError(
      `runtimePool.maxSize must be an integer ≥ minSize (${String(minSize)}), got ${String(maxSize)}`,
    );
  }
  for (const [name, value] of [
    ['scaleUpThreshold', scaleUpThreshold],
    ['scaleDownThreshold', scaleDownThreshold],
  ] as const) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
      throw configurationError(`runtimePool.${name} must be a load between 0 and 1, got ${String(value)}`);
    }
  }
  if (scaleDownThreshold >= scaleUpThreshold) {
    throw configurationError(
      `runtimePool.scaleDownThreshold (${scaleDownThreshold}) must be below scaleUpThreshold (${scaleUpThreshold}), ` +
        'or the pool would add and remove processes in turn',
    );
  }
  if (!Number.isInteger(scaleInterval) || scaleInterval < 10) {
    throw configurationError(
      `runtimePool.scaleInterval must be an integer number of ms ≥ 10, got ${String(scaleInterval)}`,
    );
  }
  return { minSize, maxSize, scaleUpThreshold, scaleDownThreshold, scaleInterval };
}

function configurationError(message: string): EnclaveError {
  return new EnclaveError('CONFIGURATION_ERROR', message);
}
