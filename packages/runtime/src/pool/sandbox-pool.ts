import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { ResourceLimits } from 'node:worker_threads';
import {
  EnclaveError,
  type ErrorCode,
  type Logger,
  SessionLimitsSchema,
  silentLogger,
  validate,
} from '@enclave-vm/types';
import type {
  ExecutionEventListener,
  ExecutionHandle,
  ExecutionSpec,
  SessionExecutor,
} from '../executor/execution-types.js';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../executor/json-depth.js';
import type { SandboxProviderOptions } from '../sandbox/sandbox-provider.js';
import { PoolSession } from './pool-session.js';
import { PoolThread } from './pool-thread.js';
import { type PoolWorkerScript, resolvePoolWorkerScript } from './worker-script.js';

/** Options of {@link createSandboxPool}. */
export interface SandboxPoolOptions extends SandboxProviderOptions {
  /**
   * Worker threads running sandboxes.
   * @default os.availableParallelism()
   */
  size?: number;
  /**
   * Sessions one thread runs at once. When every thread is full, a new session ends at once with
   * `RUNTIME_UNAVAILABLE` (retryable).
   * @default 256
   */
  maxSessionsPerThread?: number;
  /**
   * How long past a session's timeout the pool waits for its `final` before it considers the thread
   * stuck, terminates it (its sessions end with `WORKER_CRASHED`) and starts a replacement.
   * @default 2000
   */
  watchdogGraceMs?: number;
  /**
   * A thread that has not acknowledged a message for this long is busy (a guest is running); new
   * sessions go to other threads while one is free.
   * @default 2
   */
  busyThresholdMs?: number;
  /**
   * How long after being given a session a thread ranks after the other equally loaded threads:
   * it is probably preparing its next sandbox (about 0.5 ms of CPU, more on a busy machine), so
   * back-to-back sessions alternate between threads while a quiet pool keeps one warm thread.
   * @default 1
   */
  refillWindowMs?: number;
  /** Resource limits of each worker thread (see `worker_threads`). */
  resourceLimits?: ResourceLimits;
  /**
   * Where the pool reports what an operator must know: a thread terminated by the watchdog (with
   * the session that kept it busy), a thread lost.
   * @default silent
   */
  logger?: Logger;
  /**
   * The worker entry to start, as a path or URL. By default the built `pool-worker.js` or
   * `pool-worker.cjs` beside this bundle (or, from TypeScript sources, `src/pool/pool-worker.ts`
   * through tsx).
   */
  workerScript?: string | URL;
}

/**
 * Runs sessions on a pool of worker threads, each with its own sandboxes, so that a busy guest
 * never blocks the caller's event loop. New sessions go to the least busy thread; a thread that
 * dies or stops answering ends only its own sessions (`WORKER_CRASHED`) and is replaced.
 */
export class SandboxPool implements SessionExecutor {
  private readonly threads: PoolThread[] = [];
  private readonly capacity: number;
  private readonly watchdogGraceMs: number;
  private readonly busyThresholdMs: number;
  private readonly refillWindowMs: number;
  private readonly script: PoolWorkerScript;
  private readonly providerOptions: SandboxProviderOptions;
  private readonly resourceLimits: ResourceLimits | undefined;
  private readonly logger: Logger;
  private nextKey = 1;
  private active = 0;
  private closed = false;
  private startFailures = 0;
  private readonly restartTimers = new Set<NodeJS.Timeout>();

  /** Starts the threads; see {@link createSandboxPool}. */
  constructor(options: SandboxPoolOptions = {}) {
    const size = options.size ?? availableParallelism();
    if (!Number.isInteger(size) || size < 1) {
      throw new EnclaveError('CONFIGURATION_ERROR', `The pool size must be a positive integer, got ${size}`);
    }
    this.capacity = Math.max(1, options.maxSessionsPerThread ?? 256);
    this.watchdogGraceMs = Math.max(0, options.watchdogGraceMs ?? 2000);
    this.busyThresholdMs = Math.max(0, options.busyThresholdMs ?? 2);
    this.refillWindowMs = Math.max(0, options.refillWindowMs ?? 1);
    this.resourceLimits = options.resourceLimits;
    this.logger = options.logger ?? silentLogger;
    this.providerOptions = {
      warmInstances: options.warmInstances,
      instanceMemoryMaximum: options.instanceMemoryMaximum,
      maxIdleMemories: options.maxIdleMemories,
      recycleAboveBytes: options.recycleAboveBytes,
      sessionsPerInstance: options.sessionsPerInstance,
      parkAfterMs: options.parkAfterMs,
    };
    const workerScript = options.workerScript;
    this.script =
      workerScript === undefined ? resolvePoolWorkerScript() : { kind: 'file', url: toUrl(workerScript) };
    for (let index = 0; index < size; index++) this.threads.push(this.startThread(index));
  }

  /** Runs in progress. */
  get activeSessions(): number {
    return this.active;
  }

  /**
   * Sessions parked right now on every thread: waiting on their tool calls for longer than
   * `parkAfterMs`, their engine instances freed until their next result.
   */
  get parkedSessions(): number {
    let parked = 0;
    for (const thread of this.threads) parked += thread.parkedSessions;
    return parked;
  }

  /** Worker threads in the pool. */
  get size(): number {
    return this.threads.length;
  }

  /** Resolves once every thread has started and filled its warm sandboxes. */
  async ready(): Promise<void> {
    await Promise.all(this.threads.map((thread) => thread.ready));
  }

  /** Starts a run on the least busy thread. Events arrive through `onEvent`, never before this returns. */
  execute(spec: ExecutionSpec, onEvent: ExecutionEventListener): ExecutionHandle {
    if (this.closed) return this.refuse(spec, onEvent, 'SHUTTING_DOWN', 'The pool is shutting down');
    const limits = validate(SessionLimitsSchema, spec.limits);
    if (!limits.success) {
      return this.refuse(spec, onEvent, 'VALIDATION_ERROR', `Invalid limits: ${limits.message}`);
    }
    // The context crosses to the thread as JSON text made here: a value that cannot become JSON
    // is refused now, without troubling the thread.
    let contextJson: string;
    try {
      if (exceedsJsonDepth(spec.context))
        throw new Error(`it is nested deeper than ${MAX_JSON_DEPTH} levels`);
      contextJson = JSON.stringify(spec.context ?? {}) ?? '{}';
    } catch (error) {
      return this.refuse(
        spec,
        onEvent,
        'VALIDATION_ERROR',
        `The context is not JSON-serializable: ${(error as Error).message}`,
      );
    }
    const thread = this.pickThread();
    if (thread === undefined) {
      return this.refuse(
        spec,
        onEvent,
        'RUNTIME_UNAVAILABLE',
        'Every sandbox thread is running its maximum of sessions',
      );
    }
    const key = this.nextKey++;
    const slot = thread.takeSlot();
    thread.lastAssignedAt = performance.now();
    const session = new PoolSession(spec.sessionId, key, slot, spec.limits, onEvent, {
      queueResult: (sessionKey, callId, outcome) => thread.queueResult(sessionKey, callId, outcome),
      requestCancel: (sessionKey, sessionSlot, reason) =>
        thread.requestCancel(sessionKey, sessionSlot, reason),
      onEnded: (ended) => {
        this.active -= 1;
        thread.onEnded(ended);
      },
    });
    thread.sendExecute({
      key,
      slot,
      sessionId: spec.sessionId,
      code: typeof spec.code === 'string' ? spec.code : String(spec.code),
      limitsJson: JSON.stringify(spec.limits),
      contextJson,
      isolationKey: spec.isolationKey,
      requestedAt: performance.timeOrigin + performance.now(),
    });
    thread.sessions.set(key, session);
    this.active += 1;
    session.armWatchdog(this.watchdogGraceMs, (stuck) => this.onStuck(stuck));
    return session;
  }

  /** The index of the thread running a session (for diagnostics and tests), if it is running. */
  threadIndexOf(sessionId: string): number | undefined {
    for (const thread of this.threads) {
      for (const session of thread.sessions.values())
        if (session.sessionId === sessionId) return thread.index;
    }
    return undefined;
  }

  /**
   * Terminates a thread as if it had crashed: its sessions end with `WORKER_CRASHED` and a new
   * thread takes its place. For fault-injection tests and operators.
   */
  async terminateThread(index: number): Promise<void> {
    const thread = this.threads[index];
    if (thread === undefined) throw new EnclaveError('VALIDATION_ERROR', `The pool has no thread ${index}`);
    await this.replace(thread, 'The sandbox thread was terminated');
  }

  /** Ends every running session with `error` + `final` (code `SHUTTING_DOWN`) and stops the threads. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.restartTimers) clearTimeout(timer);
    this.restartTimers.clear();
    const stopping: Promise<void>[] = [];
    for (const thread of this.threads) {
      for (const session of [...thread.sessions.values()])
        session.fail('SHUTTING_DOWN', 'The pool is shutting down');
      stopping.push(thread.terminate());
    }
    await Promise.all(stopping);
  }

  private startThread(index: number): PoolThread {
    return new PoolThread({
      index,
      capacity: this.capacity,
      script: this.script,
      provider: this.providerOptions,
      resourceLimits: this.resourceLimits,
      onLost: (thread, reason) => {
        if (!this.closed) this.logger.error('sandbox thread lost', { thread: thread.index, reason });
        void this.replace(thread, reason);
      },
    });
  }

  private pickThread(): PoolThread | undefined {
    const now = performance.now();
    let best: PoolThread | undefined;
    let bestBusy = true;
    for (const thread of this.threads) {
      if (!thread.alive || !thread.hasCapacity) continue;
      const busy = thread.isBusy(now, this.busyThresholdMs);
      if (
        best === undefined ||
        (bestBusy && !busy) ||
        (bestBusy === busy &&
          (thread.load < best.load ||
            (thread.load === best.load &&
              (thread.unacknowledged < best.unacknowledged ||
                (thread.unacknowledged === best.unacknowledged &&
                  recency(thread, now, this.refillWindowMs) < recency(best, now, this.refillWindowMs))))))
      ) {
        best = thread;
        bestBusy = busy;
      }
    }
    return best;
  }

  private onStuck(session: PoolSession): void {
    for (const thread of this.threads) {
      if (thread.sessions.get(session.key) === session) {
        // The last resort: the guards should keep every guest interruptible. Whatever slipped
        // through is named here, with the other sessions the thread takes down.
        this.logger.error('sandbox thread stopped answering past a session deadline; terminating it', {
          thread: thread.index,
          sessionId: session.sessionId,
          timeoutMs: session.timeoutMs,
          otherSessions: [...thread.sessions.values()]
            .filter((other) => other !== session)
            .map((other) => other.sessionId),
        });
        void this.replace(thread, 'The sandbox thread stopped answering past the session deadline');
        return;
      }
    }
    session.fail('WORKER_CRASHED', 'The sandbox thread running the session was lost');
  }

  private async replace(thread: PoolThread, reason: string): Promise<void> {
    const wasAlive = thread.alive;
    for (const session of [...thread.sessions.values()]) session.fail('WORKER_CRASHED', reason);
    if (wasAlive) thread.alive = false;
    if (this.threads[thread.index] === thread && !this.closed) {
      if (thread.started) {
        this.startFailures = 0;
        this.threads[thread.index] = this.startThread(thread.index);
      } else {
        // A thread that dies before it is ready would die again at once: retry with a growing delay.
        const delay = Math.min(10_000, 100 * 2 ** this.startFailures);
        this.startFailures += 1;
        const timer = setTimeout(() => {
          this.restartTimers.delete(timer);
          if (!this.closed && this.threads[thread.index] === thread) {
            this.threads[thread.index] = this.startThread(thread.index);
          }
        }, delay);
        timer.unref();
        this.restartTimers.add(timer);
      }
    }
    if (wasAlive) await thread.terminate();
  }

  private refuse(
    spec: ExecutionSpec,
    onEvent: ExecutionEventListener,
    code: ErrorCode,
    message: string,
  ): ExecutionHandle {
    const session = new PoolSession(spec.sessionId, 0, -1, spec.limits, onEvent, {
      queueResult: () => undefined,
      requestCancel: () => undefined,
      onEnded: () => undefined,
    });
    queueMicrotask(() => session.fail(code, message));
    return session;
  }
}

/**
 * Creates a pool of worker threads running sandboxes (see {@link SandboxPool}).
 *
 * @example
 * const pool = createSandboxPool({ size: 2 });
 * await pool.ready();
 * const handle = pool.execute({ sessionId: 'ses_1', code: 'return 1 + 2', limits: resolveLimits() }, console.log);
 * await handle.done; // { ok: true, result: 3, stats: { ... } }
 */
export function createSandboxPool(options: SandboxPoolOptions = {}): SandboxPool {
  return new SandboxPool(options);
}

/**
 * Orders equally loaded threads: one given a session within `windowMs` ranks after the others (it
 * is probably preparing its next sandbox), the least recent first; the others rank equal, so that
 * on a quiet pool sessions keep going to the same (warm) thread.
 */
function recency(thread: PoolThread, now: number, windowMs: number): number {
  return now - thread.lastAssignedAt < windowMs ? thread.lastAssignedAt : Number.NEGATIVE_INFINITY;
}

/** A file path (absolute or relative to the working directory) or a URL string, as a URL. */
function toUrl(location: string | URL): URL {
  if (location instanceof URL) return location;
  // A scheme of two letters or more (file:, data:), not a Windows drive letter.
  return /^[a-z][a-z0-9+.-]+:/i.test(location) ? new URL(location) : pathToFileURL(resolve(location));
}
