import { performance } from 'node:perf_hooks';
import { type FinalPayload, type RuntimeEvent, SECURITY_LEVELS } from '@enclave-vm/types';
import { SandboxProvider, type SandboxProviderOptions } from '../sandbox/sandbox-provider.js';
import type {
  ExecutionEventListener,
  ExecutionHandle,
  ExecutionSpec,
  SessionExecutor,
  ToolOutcome,
} from './execution-types.js';
import { SandboxRun } from './sandbox-run.js';

/** A session that goes through the hot paths once. */
const WARM_UP_CODE = [
  "const echoed = await Promise.all([tools.echo({ list: [1, 2, 3] }), callTool('echo', context)]);",
  "console.log('warm', { echoed, nested: { deeper: [new Date(0), /x/g, new Map([[1, 2]])] } }, 42, -0);",
  'try { null.property; } catch (error) { console.error(error); }',
  'return JSON.parse(JSON.stringify(echoed));',
].join('\n');

/** How often (at most) a busy guest's interrupt polls look after the thread's other sessions. */
const HOUSEKEEPING_INTERVAL_MS = 5;

/** Options of {@link createInThreadExecutor}. */
export interface InThreadExecutorOptions extends SandboxProviderOptions {}

/**
 * Hooks of {@link InThreadExecutor.startRun} for callers that batch events themselves.
 *
 * @internal
 */
export interface RunHooks {
  /** Receives each guest turn's events as one batch. */
  onEvents: (events: RuntimeEvent[]) => void;
  /** Called once after the run's last batch. */
  onEnd?: (run: SandboxRun) => void;
  /** Polled while the guest runs; true cancels the run. */
  isCancelRequested?: () => boolean;
  /** `performance.now()` when the run was requested. @default now */
  requestedAt?: number;
  /** The context as JSON text, already checked (the pool makes it on the caller's thread). @default the spec's context */
  contextJson?: string;
}

/**
 * Runs sessions on the calling thread, each in its own QuickJS sandbox. A busy guest blocks this
 * thread until a limit interrupts it, so use it in worker threads (as the pool does), in tests and
 * in benchmarks; servers should use {@link createSandboxPool}.
 *
 * While one guest keeps the thread busy, its interrupt polls also end the thread's other sessions
 * whose deadline passed or whose cancel was requested, so they end on time.
 */
export class InThreadExecutor implements SessionExecutor {
  /** Where this executor's sandboxes come from. */
  readonly provider: SandboxProvider;
  private readonly runs = new Set<SandboxRun>();
  private lastHousekeeping = 0;
  private closed = false;
  private afterHousekeeping: (() => void) | undefined;

  /** Creates an executor; see {@link createInThreadExecutor}. */
  constructor(options: InThreadExecutorOptions = {}) {
    this.provider = new SandboxProvider(options);
  }

  /** Runs in progress. */
  get activeSessions(): number {
    return this.runs.size;
  }

  /** Runs parked right now (see `parkAfterMs`). */
  get parkedSessions(): number {
    return this.provider.parkedSessions;
  }

  /**
   * Fills the warm sandboxes and runs one warm-up session through the hot paths (console
   * formatting, a tool call, an error), so that the first real session does not pay for the
   * WebAssembly code's first runs. Resolves once done.
   */
  async prewarm(): Promise<void> {
    await this.provider.prewarm();
    const run = this.startRun(
      {
        sessionId: 'warm-up',
        code: WARM_UP_CODE,
        limits: { ...SECURITY_LEVELS.STANDARD, timeout: 10_000 },
        context: { warm: [1, 'up'] },
      },
      {
        onEvents: (events) => {
          for (const event of events) {
            if (event.type !== 'tool_call') continue;
            const { callId, args } = event.payload;
            queueMicrotask(() => run.submitToolResult(callId, { ok: true, result: args }));
          }
        },
      },
    );
    await run.done;
    await this.provider.prewarm();
  }

  /**
   * Sets a callback run after a busy guest's interrupt poll ended other sessions (so that a caller
   * batching events can send them while the thread stays busy).
   */
  setHousekeepingListener(listener: (() => void) | undefined): void {
    this.afterHousekeeping = listener;
  }

  /** Starts a run, events arriving one by one, asynchronously (never before this returns). */
  execute(spec: ExecutionSpec, onEvent: ExecutionEventListener): ExecutionHandle {
    const run = this.createRun(spec, {
      onEvents: (events) => {
        for (const event of events) {
          try {
            onEvent(event);
          } catch {
            // A failing listener must not break the run; the caller owns its listener's errors.
          }
        }
      },
    });
    queueMicrotask(() => run.begin());
    return {
      sessionId: spec.sessionId,
      submitToolResult: (callId: string, outcome: ToolOutcome) => run.submitToolResult(callId, outcome),
      cancel: (reason?: string) => run.cancel(reason),
      done: run.done,
    };
  }

  /**
   * Starts a run now, its events arriving as one batch per guest turn (for event batching callers:
   * the pool's worker threads).
   *
   * @internal
   */
  startRun(spec: ExecutionSpec, hooks: RunHooks): SandboxRun {
    const run = this.createRun(spec, hooks);
    run.begin();
    return run;
  }

  /** Ends every running session with `error` + `final` (code `SHUTTING_DOWN`) and drops the sandboxes. */
  async close(): Promise<void> {
    this.closed = true;
    const ending: Promise<FinalPayload>[] = [];
    for (const run of [...this.runs]) {
      run.terminate('SHUTTING_DOWN', 'The runtime is shutting down');
      ending.push(run.done);
    }
    await Promise.all(ending);
    this.provider.close();
  }

  private createRun(spec: ExecutionSpec, hooks: RunHooks): SandboxRun {
    const run = new SandboxRun({
      spec,
      provider: this.provider,
      onEvents: hooks.onEvents,
      onEnd: (ended) => {
        this.runs.delete(ended);
        hooks.onEnd?.(ended);
      },
      isCancelRequested: hooks.isCancelRequested,
      contextJson: hooks.contextJson,
      onGuestTick: (now) => this.housekeeping(now),
      requestedAt: hooks.requestedAt ?? performance.now(),
    });
    this.runs.add(run);
    if (this.closed) queueMicrotask(() => run.terminate('SHUTTING_DOWN', 'The runtime is shutting down'));
    return run;
  }

  private housekeeping(now: number): void {
    if (now - this.lastHousekeeping < HOUSEKEEPING_INTERVAL_MS || this.runs.size < 2) return;
    this.lastHousekeeping = now;
    let ended = false;
    for (const run of this.runs) {
      if (run.checkDeadline(now)) ended = true;
    }
    if (ended) this.afterHousekeeping?.();
  }
}

/** Creates an executor that runs sessions on the calling thread (see {@link InThreadExecutor}). */
export function createInThreadExecutor(options: InThreadExecutorOptions = {}): InThreadExecutor {
  return new InThreadExecutor(options);
}
