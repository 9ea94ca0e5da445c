import { performance } from 'node:perf_hooks';
import {
  EnclaveError,
  type ErrorCode,
  type FinalPayload,
  type RuntimeEvent,
  type SessionLimits,
} from '@enclave-vm/types';
import { encodeToolOutcome, parseCallId } from '../executor/encode-tool-outcome.js';
import type { ExecutionEventListener, ExecutionHandle, ToolOutcome } from '../executor/execution-types.js';

/** What a {@link PoolSession} needs from the thread it runs on. */
export interface PoolSessionHost {
  /** Queues a tool result, encoded for the guest, for the session's thread (sent with the others of this tick). */
  queueResult(key: number, callId: string, encodedOutcome: string): void;
  /** Asks the session's thread to cancel it (also through shared memory, in case the thread is busy). */
  requestCancel(key: number, slot: number, reason: string | undefined): void;
  /** Called once when the session has ended. */
  onEnded(session: PoolSession): void;
}

/**
 * The main-thread side of one session running on a pool thread: the {@link ExecutionHandle} given
 * to the caller. It mirrors the session's tool calls so that answers are validated at once, and can
 * end the session itself when its thread is lost or the pool shuts down.
 */
export class PoolSession implements ExecutionHandle {
  /** The session id of the spec. */
  readonly sessionId: string;
  /** The session's key on its thread. */
  readonly key: number;
  /** The session's cancel flag on its thread. */
  readonly slot: number;
  /** Resolves with the `final` payload once the run has ended (never rejects). */
  readonly done: Promise<FinalPayload>;
  private readonly host: PoolSessionHost;
  private readonly onEvent: ExecutionEventListener;
  private readonly limits: SessionLimits;
  private readonly startedAt = performance.now();
  private readonly pendingCalls = new Map<string, number>();
  /** Every call id seen so far (`call_<n>`, issued in order): one not pending has its answer. */
  private highestCallNumber = 0;
  private resolveDone!: (payload: FinalPayload) => void;
  private ended = false;
  private toolCalls = 0;
  private stdoutBytes = 0;
  private watchdog: NodeJS.Timeout | undefined;

  /** @internal Created by the pool. */
  constructor(
    sessionId: string,
    key: number,
    slot: number,
    limits: SessionLimits,
    onEvent: ExecutionEventListener,
    host: PoolSessionHost,
  ) {
    this.sessionId = sessionId;
    this.key = key;
    this.slot = slot;
    this.limits = limits;
    this.onEvent = onEvent;
    this.host = host;
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  /** The session's wall-clock timeout in ms. */
  get timeoutMs(): number {
    return this.limits.timeout;
  }

  /** Whether the session has ended. */
  get isEnded(): boolean {
    return this.ended;
  }

  /** Arms the watchdog: `onStuck` runs if no `final` arrived `graceMs` after the session's timeout. */
  armWatchdog(graceMs: number, onStuck: (session: PoolSession) => void): void {
    this.watchdog = setTimeout(() => {
      this.watchdog = undefined;
      if (!this.ended) onStuck(this);
    }, this.limits.timeout + graceMs);
  }

  /** Hands the caller the events of one batch from the session's thread. */
  dispatch(events: RuntimeEvent[]): void {
    for (const event of events) {
      if (this.ended) return;
      if (event.type === 'tool_call') {
        this.pendingCalls.set(event.payload.callId, performance.now());
        this.highestCallNumber = Math.max(this.highestCallNumber, parseCallId(event.payload.callId) ?? 0);
        this.toolCalls += 1;
      } else if (event.type === 'stdout') {
        this.stdoutBytes += Buffer.byteLength(event.payload.chunk);
      } else if (event.type === 'log') {
        this.stdoutBytes += Buffer.byteLength(event.payload.message);
      } else if (event.type === 'final') {
        this.finish();
        this.deliver(event);
        this.resolveDone(event.payload);
        return;
      }
      this.deliver(event);
    }
  }

  /** See {@link ExecutionHandle.submitToolResult}. */
  submitToolResult(callId: string, outcome: ToolOutcome): void {
    if (this.ended) throw new EnclaveError('SESSION_ENDED', `Session ${this.sessionId} has ended`);
    const seenAt = this.pendingCalls.get(callId);
    if (seenAt === undefined) {
      const number = parseCallId(callId) ?? 0;
      if (number > 0 && number <= this.highestCallNumber) {
        throw new EnclaveError('TOOL_CALL_ALREADY_ANSWERED', `Tool call ${callId} already has a result`);
      }
      throw new EnclaveError(
        'TOOL_CALL_NOT_FOUND',
        `Session ${this.sessionId} has no pending tool call ${callId}`,
      );
    }
    this.pendingCalls.delete(callId);
    // The thread answered it with TOOL_TIMEOUT already.
    if (performance.now() - seenAt >= this.limits.toolTimeout) {
      throw new EnclaveError('TOOL_CALL_ALREADY_ANSWERED', `Tool call ${callId} already timed out`);
    }
    this.host.queueResult(
      this.key,
      callId,
      encodeToolOutcome(parseCallId(callId) ?? 0, outcome, this.limits),
    );
  }

  /** See {@link ExecutionHandle.cancel}. */
  cancel(reason?: string): void {
    if (this.ended) return;
    this.host.requestCancel(this.key, this.slot, reason);
  }

  /** Ends the session here (its thread is gone, or the pool shuts down): `error` + `final` with `code`. */
  fail(code: ErrorCode, message: string): void {
    if (this.ended) return;
    const error = { code, message };
    const payload: FinalPayload = {
      ok: false,
      error,
      stats: {
        durationMs: performance.now() - this.startedAt,
        cpuTimeMs: 0,
        toolCalls: this.toolCalls,
        stdoutBytes: this.stdoutBytes,
      },
    };
    this.finish();
    this.deliver({ type: 'error', payload: { code, message, recoverable: false } });
    this.deliver({ type: 'final', payload });
    this.resolveDone(payload);
  }

  private finish(): void {
    this.ended = true;
    if (this.watchdog !== undefined) clearTimeout(this.watchdog);
    this.watchdog = undefined;
    this.pendingCalls.clear();
    this.host.onEnded(this);
  }

  private deliver(event: RuntimeEvent): void {
    try {
      this.onEvent(event);
    } catch {
      // A failing listener must not break the session; the caller owns its listener's errors.
    }
  }
}
