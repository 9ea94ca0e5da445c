import { performance } from 'node:perf_hooks';
import {
  EnclaveError,
  type ErrorCode,
  type FinalPayload,
  isErrorCode,
  type LogLevel,
  type RuntimeEvent,
  SessionLimitsSchema,
  validate,
  type WireError,
} from '@enclave-vm/types';
import type { GuestOutcome, GuestTurn, Sandbox } from '../sandbox/sandbox.js';
import type { ParkedSandbox, SandboxProvider, SandboxRequest } from '../sandbox/sandbox-provider.js';
import { encodeToolOutcome, parseCallId } from './encode-tool-outcome.js';
import type { ExecutionSpec, ToolOutcome } from './execution-types.js';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from './json-depth.js';

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** How often (at most) an interrupt poll checks the limits, the cancel flag and the thread's other sessions. */
const FULL_CHECK_INTERVAL_MS = 1;

/** Codes after which the sandbox's instance is never reused. */
const DISCARDING_CODES = new Set<string>(['MEMORY_LIMIT_EXCEEDED', 'STACK_OVERFLOW', 'INTERNAL_ERROR']);

/**
 * Options of one {@link SandboxRun}.
 *
 * @internal
 */
export interface SandboxRunOptions {
  /** What to run. */
  spec: ExecutionSpec;
  /** Where sandboxes come from. */
  provider: SandboxProvider;
  /** Receives the events of each turn, in order, as one batch; the last batch ends with `final`. */
  onEvents: (events: RuntimeEvent[]) => void;
  /** Called once the run has ended, after its last batch. */
  onEnd?: (run: SandboxRun) => void;
  /**
   * Polled while the guest runs; true cancels the run (for a cancel requested from another thread
   * through shared memory while this one is busy).
   */
  isCancelRequested?: () => boolean;
  /** Polled while the guest runs (a few times per ms), for thread-wide housekeeping. */
  onGuestTick?: (now: number) => void;
  /** `performance.now()` when the run was requested. @default now */
  requestedAt?: number;
  /** The context as JSON text, already checked for depth. @default the spec's context, serialized here */
  contextJson?: string;
}

interface PendingCall {
  toolName: string;
  deadline: number;
}

/**
 * One run of user code in one sandbox: starts it, turns what the guest produces into runtime
 * events (one batch per guest turn), hands tool results back (all results that arrive together in
 * one guest turn), enforces every limit, and ends with exactly one `final`. The executor's and the
 * pool's building block, below the `SessionExecutor` contract that callers use.
 *
 * @internal
 */
export class SandboxRun {
  /** The session id of the spec. */
  readonly sessionId: string;
  /** Resolves with the `final` payload once the run has ended (never rejects). */
  readonly done: Promise<FinalPayload>;
  private readonly spec: ExecutionSpec;
  private readonly options: SandboxRunOptions;
  private readonly requestedAt: number;
  private readonly deadline: number;
  private resolveDone!: (payload: FinalPayload) => void;
  private state: 'created' | 'starting' | 'running' | 'ended' = 'created';
  private sandbox: Sandbox | undefined;
  /**
   * The sandbox's memory image while the run is parked (see `SandboxProviderOptions.parkAfterMs`):
   * then {@link sandbox} is `undefined` until the next tool result restores it.
   */
  private parked: ParkedSandbox | undefined;
  private restoring = false;
  /** When the guest last ended a turn waiting on tool calls (`performance.now()`). */
  private waitingSince = 0;
  private parkTimer: NodeJS.Timeout | undefined;
  /** The request for a sandbox while none was ready; cancelled if the run ends first. */
  private request: SandboxRequest | undefined;
  private events: RuntimeEvent[] = [];
  private kill: WireError | undefined;
  private wallTimer: NodeJS.Timeout | undefined;
  private toolTimer: NodeJS.Timeout | undefined;
  private toolTimerAt = Number.POSITIVE_INFINITY;
  private readonly pendingCalls = new Map<number, PendingCall>();
  /** Call ids are issued in order: an id up to this one that is not pending has its answer. */
  private highestCallId = 0;
  private queuedResults: string[] = [];
  private resultsScheduled = false;
  private toolCalls = 0;
  private stdoutBytes = 0;
  private outputClosed = false;
  private cpuTimeMs = 0;
  private nextFullCheck = 0;

  /** Prepares a run; nothing happens before {@link begin}. */
  constructor(options: SandboxRunOptions) {
    this.options = options;
    this.spec = options.spec;
    this.sessionId = options.spec.sessionId;
    this.requestedAt = options.requestedAt ?? performance.now();
    this.deadline = this.requestedAt + (options.spec.limits?.timeout ?? 0);
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  /** Whether the run has ended. */
  get ended(): boolean {
    return this.state === 'ended';
  }

  /** Whether this run's guest code is executing right now. */
  get inGuest(): boolean {
    return this.sandbox?.inGuest ?? false;
  }

  /** Starts the run: synchronously when a ready sandbox is available, otherwise once one is. */
  begin(): void {
    if (this.state !== 'created') return;
    this.state = 'starting';
    const limits = validate(SessionLimitsSchema, this.spec.limits);
    if (!limits.success || typeof this.spec.code !== 'string') {
      const message = limits.success ? 'The code must be a string' : `Invalid limits: ${limits.message}`;
      this.end({ code: 'VALIDATION_ERROR', message });
      this.flush();
      return;
    }
    let contextJson = this.options.contextJson;
    if (contextJson === undefined) {
      if (exceedsJsonDepth(this.spec.context)) {
        this.end({
          code: 'VALIDATION_ERROR',
          message: `The context is nested deeper than ${MAX_JSON_DEPTH} levels`,
        });
        this.flush();
        return;
      }
      try {
        contextJson = JSON.stringify(this.spec.context ?? {}) ?? '{}';
      } catch (error) {
        this.end({
          code: 'VALIDATION_ERROR',
          message: `The context is not JSON-serializable: ${describe(error)}`,
        });
        this.flush();
        return;
      }
    }
    // A run that waited behind a busy guest past its deadline (or whose cancel arrived) ends here,
    // without an engine instance being prepared for it.
    const now = performance.now();
    if (now >= this.deadline || this.kill !== undefined || this.options.isCancelRequested?.()) {
      this.end(
        this.kill ??
          (now >= this.deadline
            ? { code: 'EXECUTION_TIMEOUT', message: this.timeoutMessage() }
            : { code: 'CANCELLED', message: 'The session was cancelled' }),
      );
      this.flush();
      return;
    }
    this.wallTimer = setTimeout(() => this.onWallTimeout(), Math.max(0, this.deadline - now));
    const provider = this.options.provider;
    const ready = provider.takeReady(this.spec.limits.memoryLimit, this.spec.isolationKey);
    if (ready !== undefined) {
      this.startIn(ready, contextJson);
      return;
    }
    const request = provider.acquire(this.spec.limits.memoryLimit, this.spec.isolationKey);
    this.request = request;
    request.sandbox.then(
      (sandbox) => {
        this.request = undefined;
        if (this.state === 'ended') {
          provider.release(sandbox, true);
          return;
        }
        this.startIn(sandbox, contextJson);
      },
      (error: unknown) => {
        this.request = undefined;
        this.end({ code: 'INTERNAL_ERROR', message: `No sandbox could be created: ${describe(error)}` });
        this.flush();
      },
    );
  }

  /**
   * Accepts the result of a `tool_call`; results accepted in the same tick reach the guest together
   * (in a microtask, or at {@link flushResults}). Throws `SESSION_ENDED`, `TOOL_CALL_NOT_FOUND` or
   * `TOOL_CALL_ALREADY_ANSWERED` as an {@link EnclaveError}.
   */
  submitToolResult(callId: string, outcome: ToolOutcome): void {
    const id = this.acceptCall(callId);
    this.queueResult(encodeToolOutcome(id, outcome, this.spec.limits));
  }

  /**
   * Accepts a tool result already encoded by {@link encodeToolOutcome} for this call (by the pool,
   * on the thread the answer arrived on). Throws like {@link submitToolResult}.
   */
  submitEncodedToolResult(callId: string, encoded: string): void {
    this.acceptCall(callId);
    this.queueResult(encoded);
  }

  private queueResult(encoded: string): void {
    this.queuedResults.push(encoded);
    if (!this.resultsScheduled) {
      this.resultsScheduled = true;
      queueMicrotask(() => this.flushResults());
    }
  }

  /** Checks that `callId` is pending, marks it answered and returns its number. */
  private acceptCall(callId: string): number {
    if (this.state === 'ended')
      throw new EnclaveError('SESSION_ENDED', `Session ${this.sessionId} has ended`);
    const id = parseCallId(callId);
    const pending = id === undefined ? undefined : this.pendingCalls.get(id);
    if (id === undefined || pending === undefined) {
      if (id !== undefined && id <= this.highestCallId) {
        throw new EnclaveError('TOOL_CALL_ALREADY_ANSWERED', `Tool call ${callId} already has a result`);
      }
      throw new EnclaveError(
        'TOOL_CALL_NOT_FOUND',
        `Session ${this.sessionId} has no pending tool call ${callId}`,
      );
    }
    this.settleCall(id);
    return id;
  }

  /** Hands every accepted tool result to the guest now, in one guest turn. */
  flushResults(): void {
    this.resultsScheduled = false;
    if (this.queuedResults.length === 0 || this.state !== 'running') return;
    if (this.sandbox === undefined) {
      this.restore();
      return;
    }
    const batch = `[${this.queuedResults.join(',')}]`;
    this.queuedResults = [];
    this.handleTurn(this.sandbox.deliver(batch));
    this.flush();
    this.scheduleParking();
  }

  /**
   * Parks the run once the guest has waited `parkAfterMs` on its tool calls without a result: one
   * timer per run, armed when a wait starts and re-armed for what is left when a wait started since.
   */
  private scheduleParking(): void {
    if (this.state !== 'running' || this.pendingCalls.size === 0 || this.queuedResults.length > 0) return;
    const after = this.options.provider.parkAfterMs;
    if (!Number.isFinite(after)) return;
    this.waitingSince = performance.now();
    if (this.parkTimer === undefined) this.parkTimer = setTimeout(this.parkIfStillWaiting, after);
  }

  private readonly parkIfStillWaiting = (): void => {
    this.parkTimer = undefined;
    const sandbox = this.sandbox;
    if (
      this.state !== 'running' ||
      sandbox === undefined ||
      this.pendingCalls.size === 0 ||
      this.queuedResults.length > 0
    ) {
      return;
    }
    const left = this.waitingSince + this.options.provider.parkAfterMs - performance.now();
    if (left > 0) {
      this.parkTimer = setTimeout(this.parkIfStillWaiting, left);
      return;
    }
    const parked = this.options.provider.park(sandbox, this.spec.limits.memoryLimit);
    if (parked === undefined) return;
    this.sandbox = undefined;
    this.parked = parked;
  };

  /** Restores a parked run's sandbox, then hands it the results that came meanwhile. */
  private restore(): void {
    const parked = this.parked;
    if (parked === undefined || this.restoring) return;
    this.restoring = true;
    // From here the image belongs to the restore: a run that ends meanwhile releases its sandbox.
    this.parked = undefined;
    this.options.provider.unpark(parked).then(
      (sandbox) => {
        this.restoring = false;
        if (this.state === 'ended') {
          this.options.provider.release(sandbox, false);
          return;
        }
        this.attach(sandbox);
        this.flushResults();
      },
      (error: unknown) => {
        this.restoring = false;
        this.end({
          code: 'INTERNAL_ERROR',
          message: `The paused session could not be restored: ${describe(error)}`,
        });
        this.flush();
      },
    );
  }

  /** Stops the run with `CANCELLED` (no effect once ended). */
  cancel(reason?: string): void {
    this.terminate('CANCELLED', reason ?? 'The session was cancelled');
  }

  /**
   * Ends the run with `code` now, unless it has ended (used for cancel and shutdown). While its
   * guest code is executing, the run is interrupted at the next poll instead.
   */
  terminate(code: ErrorCode, message: string): void {
    if (this.state === 'ended') return;
    this.kill ??= { code, message };
    if (this.inGuest) return;
    this.end(this.kill);
    this.flush();
  }

  /**
   * Ends the run if its wall-clock deadline has passed while another session kept the thread busy
   * (called from that session's interrupt polls). Returns whether it ended the run.
   */
  checkDeadline(now: number): boolean {
    if (this.state === 'ended' || this.inGuest) return false;
    if (now >= this.deadline) {
      this.terminate('EXECUTION_TIMEOUT', this.timeoutMessage());
      return true;
    }
    if (this.options.isCancelRequested?.()) {
      this.terminate('CANCELLED', 'The session was cancelled');
      return true;
    }
    return false;
  }

  private startIn(sandbox: Sandbox, contextJson: string): void {
    this.state = 'running';
    this.attach(sandbox);
    const limits = this.spec.limits;
    const turn = sandbox.start({
      code: this.spec.code,
      contextJson,
      maxToolCalls: limits.maxToolCalls,
      maxToolArgsBytes: limits.maxToolArgsBytes,
      maxStdoutBytes: limits.maxStdoutBytes,
      maxStackSize: limits.maxStackSize,
    });
    this.handleTurn(turn);
    this.flush();
    this.scheduleParking();
  }

  /** Makes `sandbox` this run's, with the run's listeners (at the start, and after a restore). */
  private attach(sandbox: Sandbox): void {
    this.sandbox = sandbox;
    sandbox.setStopListener((code) => {
      if (code === 'STDOUT_LIMIT_EXCEEDED') this.kill ??= this.stdoutError();
      else this.kill ??= { code: 'INTERNAL_ERROR', message: 'The sandbox failed' };
    });
    sandbox.setInterruptCheck(() => this.shouldInterrupt());
  }

  // Called at every interrupt poll, which pacing makes frequent (about every microsecond of
  // bytecode when the session holds much data): the full check runs at most every
  // FULL_CHECK_INTERVAL_MS, and a kill already decided stops the guest at once.
  private shouldInterrupt(): boolean {
    if (this.kill !== undefined) return true;
    const now = performance.now();
    if (now < this.nextFullCheck) return false;
    this.nextFullCheck = now + FULL_CHECK_INTERVAL_MS;
    const sandbox = this.sandbox as Sandbox;
    const limits = this.spec.limits;
    if (sandbox.instance.memoryExhausted) this.kill = this.memoryError();
    else if (now >= this.deadline) this.kill = { code: 'EXECUTION_TIMEOUT', message: this.timeoutMessage() };
    else if (sandbox.cpuTimeMs(now) > limits.maxCpuTime) {
      this.kill = {
        code: 'CPU_LIMIT_EXCEEDED',
        message: `The code used more than ${limits.maxCpuTime} ms of CPU time`,
      };
    } else if (this.options.isCancelRequested?.())
      this.kill = { code: 'CANCELLED', message: 'The session was cancelled' };
    else this.options.onGuestTick?.(now);
    return this.kill !== undefined;
  }

  private handleTurn(turn: GuestTurn): void {
    if (turn.outbox !== '') this.readOutbox(turn.outbox);
    const sandbox = this.sandbox as Sandbox;
    this.cpuTimeMs = sandbox.guestTimeMs;
    if (this.state === 'ended') return;
    if (this.kill !== undefined) this.end(this.kill);
    else if (sandbox.instance.memoryExhausted) this.end(this.memoryError());
    else if (turn.failure !== undefined) this.end(this.failureError(turn));
    else if (turn.outcome !== undefined) this.endWithOutcome(turn.outcome);
  }

  private readOutbox(outbox: string): void {
    let entries: unknown[];
    try {
      entries = JSON.parse(`[${outbox}]`) as unknown[];
    } catch {
      this.kill ??= { code: 'INTERNAL_ERROR', message: 'The sandbox produced unreadable output' };
      return;
    }
    const limits = this.spec.limits;
    for (const entry of entries) {
      if (this.state === 'ended') return;
      const record = entry as [number, ...unknown[]];
      const kind = record[0];
      if (kind >= 0 && kind <= 4) {
        // Output produced before a kill is still delivered, up to the byte limit.
        if (this.outputClosed) continue;
        const text = String(record[1]);
        const bytes = byteLength(text);
        if (this.stdoutBytes + bytes > limits.maxStdoutBytes) {
          this.outputClosed = true;
          this.kill ??= this.stdoutError();
          continue;
        }
        this.stdoutBytes += bytes;
        this.events.push(
          kind === 0
            ? { type: 'stdout', payload: { chunk: text } }
            : { type: 'log', payload: { level: LOG_LEVELS[kind - 1] as LogLevel, message: text } },
        );
      } else if (kind === 5 && this.kill === undefined) {
        const id = record[1] as number;
        const toolName = record[2] as string;
        if (exceedsJsonDepth(record[3])) {
          // Refused inside the guest, like arguments that are too large: no tool call is made.
          this.queueResult(
            JSON.stringify([
              id,
              0,
              'JSON_TOO_DEEP',
              `Tool arguments are nested deeper than ${MAX_JSON_DEPTH} levels`,
            ]),
          );
          continue;
        }
        this.toolCalls += 1;
        if (this.toolCalls > limits.maxToolCalls) {
          // The bridge refuses these itself; this guards the count should it ever not.
          this.kill = {
            code: 'TOOL_CALL_LIMIT_EXCEEDED',
            message: `The code made more than ${limits.maxToolCalls} tool calls`,
          };
          continue;
        }
        const deadline = performance.now() + limits.toolTimeout;
        this.pendingCalls.set(id, { toolName, deadline });
        if (id > this.highestCallId) this.highestCallId = id;
        if (deadline < this.toolTimerAt) this.armToolTimer(deadline);
        this.events.push({ type: 'tool_call', payload: { callId: `call_${id}`, toolName, args: record[3] } });
      }
    }
  }

  private endWithOutcome(outcome: GuestOutcome): void {
    if (outcome.kind === 'returned') {
      const limit = this.spec.limits.maxResultBytes;
      if (outcome.json === undefined) this.end(undefined);
      else if (byteLength(outcome.json) > limit) {
        this.end({ code: 'RESULT_TOO_LARGE', message: `The result exceeds ${limit} bytes of JSON` });
      } else {
        const result = JSON.parse(outcome.json) as unknown;
        if (exceedsJsonDepth(result)) {
          this.end({
            code: 'JSON_TOO_DEEP',
            message: `The result is nested deeper than ${MAX_JSON_DEPTH} levels`,
          });
        } else this.end(undefined, result);
      }
    } else if (outcome.kind === 'not-serializable') {
      this.end({ code: 'RESULT_NOT_SERIALIZABLE', message: outcome.message });
    } else {
      this.end(this.thrownError(outcome));
    }
  }

  private thrownError(outcome: Extract<GuestOutcome, { kind: 'threw' }>): WireError {
    const text = outcome.name === '' ? outcome.message : `${outcome.name}: ${outcome.message}`;
    // QuickJS reports every exhausted stack as "stack overflow" (InternalError, or SyntaxError from a parser).
    if (
      outcome.message === 'stack overflow' &&
      (outcome.name === 'InternalError' || outcome.name === 'SyntaxError')
    ) {
      return this.stackError();
    }
    if (outcome.syntax) {
      const where = outcome.line === undefined ? '' : ` (line ${outcome.line})`;
      return { code: 'SYNTAX_ERROR', message: `${text}${where}` };
    }
    if (
      outcome.name === 'InternalError' &&
      (outcome.message === 'out of memory' || outcome.message === 'string too long')
    ) {
      return this.memoryError();
    }
    // An error carrying a known code (a tool's error, a limit) ends the run with that code and its own message.
    const error: WireError =
      outcome.code !== undefined && isErrorCode(outcome.code)
        ? { code: outcome.code, message: outcome.message }
        : { code: 'EXECUTION_ERROR', message: text };
    if (outcome.stack !== undefined) error.details = { stack: outcome.stack };
    return error;
  }

  private failureError(turn: GuestTurn): WireError {
    const failure = turn.failure;
    if (failure?.kind === 'host') {
      const hostError = failure.error;
      if (hostError instanceof RangeError) return this.stackError();
      return { code: 'INTERNAL_ERROR', message: `The sandbox failed: ${describe(hostError)}` };
    }
    if (failure?.kind === 'exception') {
      if (failure.message === 'stack overflow') return this.stackError();
      if (failure.message === 'out of memory') return this.memoryError();
      if (failure.message === 'interrupted')
        return { code: 'EXECUTION_TIMEOUT', message: this.timeoutMessage() };
      return { code: 'INTERNAL_ERROR', message: `The sandbox failed: ${failure.name}: ${failure.message}` };
    }
    return { code: 'INTERNAL_ERROR', message: 'The sandbox failed' };
  }

  private settleCall(id: number): void {
    this.pendingCalls.delete(id);
  }

  private armToolTimer(deadline: number): void {
    if (this.toolTimer !== undefined) clearTimeout(this.toolTimer);
    this.toolTimerAt = deadline;
    this.toolTimer = setTimeout(() => this.onToolTimeout(), Math.max(0, deadline - performance.now()));
  }

  private onToolTimeout(): void {
    this.toolTimer = undefined;
    this.toolTimerAt = Number.POSITIVE_INFINITY;
    if (this.state !== 'running') return;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    const timeout = this.spec.limits.toolTimeout;
    for (const [id, call] of this.pendingCalls) {
      if (call.deadline <= now) {
        this.settleCall(id);
        this.queuedResults.push(
          JSON.stringify([
            id,
            0,
            'TOOL_TIMEOUT',
            `Tool "${call.toolName}" did not answer within ${timeout} ms`,
          ]),
        );
      } else if (call.deadline < next) next = call.deadline;
    }
    if (next !== Number.POSITIVE_INFINITY) this.armToolTimer(next);
    this.flushResults();
  }

  private onWallTimeout(): void {
    this.wallTimer = undefined;
    this.terminate('EXECUTION_TIMEOUT', this.timeoutMessage());
  }

  private end(error: WireError | undefined, result?: unknown): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    if (this.wallTimer !== undefined) clearTimeout(this.wallTimer);
    if (this.toolTimer !== undefined) clearTimeout(this.toolTimer);
    if (this.parkTimer !== undefined) clearTimeout(this.parkTimer);
    this.wallTimer = undefined;
    this.toolTimer = undefined;
    this.parkTimer = undefined;
    // A parked sandbox holds no instance: its image goes with the run (one being restored is
    // released when the restore completes).
    if (this.parked !== undefined) this.options.provider.discard();
    this.parked = undefined;
    this.pendingCalls.clear();
    this.queuedResults = [];
    this.request?.cancel();
    this.request = undefined;
    const sandbox = this.sandbox;
    if (sandbox !== undefined) {
      this.cpuTimeMs = sandbox.guestTimeMs;
      this.sandbox = undefined;
      this.options.provider.release(
        sandbox,
        error === undefined || !DISCARDING_CODES.has(error.code),
        this.spec.isolationKey,
      );
    }
    const stats = {
      durationMs: Math.max(0, performance.now() - this.requestedAt),
      cpuTimeMs: this.cpuTimeMs,
      toolCalls: Math.min(this.toolCalls, this.spec.limits?.maxToolCalls ?? this.toolCalls),
      stdoutBytes: this.stdoutBytes,
    };
    let payload: FinalPayload;
    if (error === undefined) {
      payload = result === undefined ? { ok: true, stats } : { ok: true, result, stats };
    } else {
      this.events.push({
        type: 'error',
        payload: { code: error.code, message: error.message, recoverable: false },
      });
      payload = { ok: false, error, stats };
    }
    this.events.push({ type: 'final', payload });
    this.resolveDone(payload);
  }

  /** Hands the events gathered since the last flush to the listener, as one batch. */
  private flush(): void {
    if (this.events.length > 0) {
      const batch = this.events;
      this.events = [];
      this.options.onEvents(batch);
    }
    if (this.state === 'ended' && this.options.onEnd !== undefined) {
      const onEnd = this.options.onEnd;
      this.options.onEnd = undefined;
      onEnd(this);
    }
  }

  private timeoutMessage(): string {
    return `The code ran past its timeout of ${this.spec.limits.timeout} ms`;
  }

  private memoryError(): WireError {
    return {
      code: 'MEMORY_LIMIT_EXCEEDED',
      message: `The code used more than its memory limit of ${this.spec.limits.memoryLimit} bytes`,
    };
  }

  private stackError(): WireError {
    return {
      code: 'STACK_OVERFLOW',
      message: `The code recursed deeper than its stack limit of ${this.spec.limits.maxStackSize} bytes`,
    };
  }

  private stdoutError(): WireError {
    return {
      code: 'STDOUT_LIMIT_EXCEEDED',
      message: `The code wrote more than ${this.spec.limits.maxStdoutBytes} bytes of console output`,
    };
  }
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
