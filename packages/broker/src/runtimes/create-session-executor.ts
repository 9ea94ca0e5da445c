import { availableParallelism } from 'node:os';
import { createSandboxPool, type SessionExecutor } from '@enclave-vm/runtime';
import type { Logger } from '@enclave-vm/types';
import type { BrokerOptions } from '../options/broker-options.js';
import { resolveRuntimeMode } from './resolve-runtime-mode.js';
import { RuntimeGroup } from './runtime-group.js';
import { RuntimeProcessPool } from './runtime-process-pool.js';

/** Sessions a sandbox thread takes at least (the sandbox pool's own default). */
const MINIMUM_SESSIONS_PER_THREAD = 256;
/** The broker's default of `maxConcurrentSessions`. */
const DEFAULT_MAX_CONCURRENT_SESSIONS = 1000;

/**
 * Creates what runs the broker's sessions, from its options:
 * - embedded (the default): an in-process worker-thread sandbox pool of `poolSize` threads, sized so
 *   that `maxConcurrentSessions` sessions fit at once;
 * - extracted with `runtimeUrl`: a {@link RuntimeGroup} over one or several runtime workers, resolved
 *   once one of them is connected, or after 10 s with none (sessions then end with
 *   `RUNTIME_UNAVAILABLE` until one connects);
 * - extracted with `runtimePool`: a {@link RuntimeProcessPool} of local runtime worker processes,
 *   resolved once `minSize` of them are connected.
 *
 * The rest of the broker sees only the returned {@link SessionExecutor}, so it is mode-agnostic.
 * Rejects with `CONFIGURATION_ERROR` when the options contradict each other (see
 * {@link resolveRuntimeMode}) or every runtime worker refuses the connection, and with
 * `RUNTIME_UNAVAILABLE` when a pool process does not start.
 *
 * @example
 * const executor = await createSessionExecutor({ mode: 'extracted', runtimeUrl: 'ws://127.0.0.1:3001' }, console);
 */
export async function createSessionExecutor(
  options: BrokerOptions,
  logger: Logger,
): Promise<SessionExecutor> {
  const mode = resolveRuntimeMode(options);
  switch (mode.kind) {
    case 'embedded': {
      const size = mode.poolSize ?? availableParallelism();
      // The pool's own default (256 sessions a thread) would refuse sessions the broker admits.
      const admitted = options.maxConcurrentSessions ?? DEFAULT_MAX_CONCURRENT_SESSIONS;
      return createSandboxPool({
        size,
        maxSessionsPerThread: Math.max(MINIMUM_SESSIONS_PER_THREAD, Math.ceil(admitted / size)),
        logger,
        ...(mode.parkAfterMs === undefined ? {} : { parkAfterMs: mode.parkAfterMs }),
      });
    }
    case 'runtime-urls': {
      const group = new RuntimeGroup({ urls: mode.urls, authToken: mode.authToken, logger });
      await group.start();
      return group;
    }
    case 'runtime-pool': {
      const pool = new RuntimeProcessPool({
        ...mode.pool,
        authToken: mode.authToken,
        poolSize: mode.poolSize,
        ...(mode.parkAfterMs === undefined ? {} : { parkAfterMs: mode.parkAfterMs }),
        logger,
      });
      await pool.start();
      return pool;
    }
  }
}
