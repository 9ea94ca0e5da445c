import {
  type ApprovalRequiredPayload,
  type ApprovalResolvedPayload,
  EnclaveError,
  type ExecutionStats,
  type StreamEvent,
  type ToolCallPayload,
  type ToolResultAppliedPayload,
  type Unsubscribe,
} from '@enclave-vm/types';
import type { ApprovalRequest } from '../approvals/approval-request.js';
import type { SentDecision } from '../approvals/approval-runner.js';
import type { LogEntry, SessionSnapshot, SessionState, ToolCallRecord } from './session-snapshot.js';

/** Options of {@link SessionStore.record}. */
export interface RecordOptions {
  /**
   * Sends a decision on an approval of the session being recorded (what the store's `approve` and
   * `deny` call). The client passes it.
   */
  decide?: (callId: string, decision: { approved: boolean; reason?: string }) => Promise<void>;
}

/**
 * Writes one session into a {@link SessionStore}. The client gets one from `store.record()` when a
 * session starts; once the store records another session, this recorder's writes are ignored.
 */
export interface SessionRecorder {
  /** Whether this recorder still writes into its store. */
  readonly active: boolean;
  /** Records the session id as soon as it is known. */
  setSessionId(sessionId: string): void;
  /** Records delivered events, in seq order; listeners are notified once for the whole batch. */
  applyEvents(events: readonly StreamEvent[]): void;
  /** Marks a tool call whose result could not be delivered. */
  failToolCall(callId: string, error: EnclaveError): void;
  /** Ends the recording without a `final`: the session was lost (`error`) or never started (`cancelled`). */
  fail(error: EnclaveError, state?: 'error' | 'cancelled'): void;
}

/**
 * A framework-free store of one session's state at a time, for UIs: `subscribe` + `getSnapshot`
 * are what React's `useSyncExternalStore` (and most state libraries) take.
 *
 * @example
 * const store = createSessionStore();
 * const unsubscribe = store.subscribe(() => render(store.getSnapshot()));
 * client.execute(code, { store });
 */
export interface SessionStore {
  /** Calls `listener` after every change; returns the function that stops it. */
  subscribe(listener: () => void): Unsubscribe;
  /** The current snapshot: the same object until something changed. */
  getSnapshot(): SessionSnapshot;
  /** Starts recording a new session: the store becomes `running` and empty. The client calls it. */
  record(options?: RecordOptions): SessionRecorder;
  /** Forgets everything and goes back to `idle`; the current recorder stops writing. */
  reset(): void;
  /**
   * Approves a tool call of the recorded session that waits for approval (one of
   * `pendingApprovals`): the tool runs. Resolves once the broker took the decision; rejects with
   * the broker's error (`APPROVAL_NOT_FOUND`, `APPROVAL_ALREADY_RESOLVED`, `SESSION_ENDED`, …), or
   * `APPROVAL_NOT_FOUND` when no session is recorded.
   */
  approve(callId: string): Promise<void>;
  /**
   * Denies a tool call of the recorded session that waits for approval: the call throws
   * `APPROVAL_DENIED` inside the code, with `reason`. Resolves and rejects like {@link approve}.
   */
  deny(callId: string, reason?: string): Promise<void>;
}

/** The snapshot of a store that has recorded nothing. */
const IDLE_SNAPSHOT: SessionSnapshot = Object.freeze({
  state: 'idle',
  sessionId: undefined,
  stdout: '',
  logs: Object.freeze([]),
  toolCalls: Object.freeze([]),
  pendingApprovals: Object.freeze([]),
  result: undefined,
  error: undefined,
  stats: undefined,
  events: Object.freeze([]),
});

/**
 * Creates an empty {@link SessionStore} (state `idle`). Pass it to `client.execute(code, { store })`
 * to record that session into it; every execution handle also has a store of its own.
 *
 * @example
 * const store = createSessionStore();
 * store.subscribe(() => console.log(store.getSnapshot().state));
 */
export function createSessionStore(): SessionStore {
  return new RecordingSessionStore();
}

class RecordingSessionStore implements SessionStore {
  private readonly listeners = new Set<() => void>();
  private recording: SessionRecording | undefined;
  private snapshot: SessionSnapshot = IDLE_SNAPSHOT;
  private snapshotVersion = 0;

  subscribe = (listener: () => void): Unsubscribe => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  getSnapshot = (): SessionSnapshot => {
    const recording = this.recording;
    if (recording !== undefined && recording.version !== this.snapshotVersion) {
      this.snapshot = recording.toSnapshot();
      this.snapshotVersion = recording.version;
    }
    return this.snapshot;
  };

  approve = (callId: string): Promise<void> => this.decide(callId, { approved: true });

  deny = (callId: string, reason?: string): Promise<void> =>
    this.decide(callId, reason === undefined ? { approved: false } : { approved: false, reason });

  private decide(callId: string, decision: SentDecision): Promise<void> {
    const decide = this.recording?.decide;
    if (decide === undefined) {
      return Promise.reject(
        new EnclaveError('APPROVAL_NOT_FOUND', `No session of this store waits for approval of ${callId}`),
      );
    }
    return decide(callId, decision);
  }

  record(options: RecordOptions = {}): SessionRecorder {
    if (this.recording !== undefined) this.recording.attached = false;
    const recording = new SessionRecording(() => this.notify(), options.decide);
    this.recording = recording;
    this.snapshotVersion = -1;
    this.notify();
    return {
      get active(): boolean {
        return isCurrent();
      },
      setSessionId: (sessionId) => {
        if (isCurrent()) recording.setSessionId(sessionId);
      },
      applyEvents: (events) => {
        if (isCurrent()) recording.applyEvents(events);
      },
      failToolCall: (callId, error) => {
        if (isCurrent()) recording.failToolCall(callId, error);
      },
      fail: (error, state = 'error') => {
        if (isCurrent()) recording.fail(error, state);
      },
    };
    function isCurrent(): boolean {
      return recording.attached;
    }
  }

  reset(): void {
    if (this.recording !== undefined) this.recording.attached = false;
    this.recording = undefined;
    this.snapshot = IDLE_SNAPSHOT;
    this.notify();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch (error) {
        // A faulty listener must neither stop the others nor the session feeding the store.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}

/** The mutable state of the session being recorded; snapshots are frozen copies of it. */
class SessionRecording {
  attached = true;
  version = 0;
  private state: SessionState = 'running';
  private sessionId: string | undefined;
  private stdout = '';
  private readonly logs: LogEntry[] = [];
  private readonly toolCalls: ToolCallRecord[] = [];
  private readonly toolCallIndex = new Map<string, number>();
  private result: unknown;
  private error: EnclaveError | undefined;
  private stats: ExecutionStats | undefined;
  private readonly events: StreamEvent[] = [];

  private readonly pendingApprovals: ApprovalRequest[] = [];

  constructor(
    private readonly changed: () => void,
    /** Sends a decision on one of this session's approvals. */
    readonly decide: ((callId: string, decision: SentDecision) => Promise<void>) | undefined,
  ) {}

  setSessionId(sessionId: string): void {
    if (this.sessionId === sessionId) return;
    this.sessionId = sessionId;
    this.touch();
  }

  applyEvents(events: readonly StreamEvent[]): void {
    if (events.length === 0) return;
    for (const event of events) this.apply(event);
    this.touch();
  }

  failToolCall(callId: string, error: EnclaveError): void {
    const index = this.toolCallIndex.get(callId);
    const record = index === undefined ? undefined : this.toolCalls[index];
    if (index === undefined || record === undefined || record.status !== 'pending') return;
    this.toolCalls[index] = Object.freeze({ ...record, status: 'error', error: error.toWire() });
    this.touch();
  }

  fail(error: EnclaveError, state: 'error' | 'cancelled'): void {
    if (this.state !== 'running') return;
    this.state = state;
    this.error = error;
    this.touch();
  }

  toSnapshot(): SessionSnapshot {
    return Object.freeze({
      state: this.state,
      sessionId: this.sessionId,
      stdout: this.stdout,
      logs: Object.freeze(this.logs.slice()),
      toolCalls: Object.freeze(this.toolCalls.slice()),
      pendingApprovals: Object.freeze(this.pendingApprovals.slice()),
      result: this.result,
      error: this.error,
      stats: this.stats,
      events: Object.freeze(this.events.slice()),
    });
  }

  private touch(): void {
    this.version++;
    this.changed();
  }

  private apply(event: StreamEvent): void {
    this.events.push(event);
    switch (event.type) {
      case 'session_init':
        this.sessionId = event.sessionId;
        break;
      case 'stdout':
        this.stdout += event.payload.chunk;
        break;
      case 'log': {
        const entry: LogEntry = {
          level: event.payload.level,
          message: event.payload.message,
          seq: event.seq,
          ts: event.ts,
        };
        if (event.payload.data !== undefined) entry.data = event.payload.data;
        this.logs.push(Object.freeze(entry));
        break;
      }
      case 'tool_call':
        this.addToolCall(event.payload, event.seq);
        break;
      case 'tool_result_applied':
        this.applyToolResult(event.payload);
        break;
      case 'approval_required':
        this.addApproval(event.payload, event.sessionId, event.seq);
        break;
      case 'approval_resolved':
        this.resolveApproval(event.payload);
        break;
      case 'final':
        this.pendingApprovals.length = 0;
        if (this.state !== 'running') break;
        this.stats = event.payload.stats;
        if (event.payload.ok) {
          this.state = 'completed';
          this.result = event.payload.result;
        } else {
          const error = event.payload.error ?? { code: 'INTERNAL_ERROR', message: 'The session failed' };
          this.error = EnclaveError.fromWire(error);
          this.state = error.code === 'CANCELLED' ? 'cancelled' : 'error';
        }
        break;
      default:
        break;
    }
  }

  private addToolCall(call: ToolCallPayload, seq: number): void {
    if (this.toolCallIndex.has(call.callId)) return;
    this.toolCallIndex.set(call.callId, this.toolCalls.length);
    this.toolCalls.push(
      Object.freeze({
        callId: call.callId,
        toolName: call.toolName,
        args: call.args,
        answeredBy: call.answeredBy,
        status: 'pending',
        seq,
      }),
    );
  }

  private addApproval(required: ApprovalRequiredPayload, sessionId: string, seq: number): void {
    if (this.pendingApprovals.some((request) => request.callId === required.callId)) return;
    this.pendingApprovals.push(
      Object.freeze({
        sessionId,
        callId: required.callId,
        toolName: required.toolName,
        args: required.args,
        expiresAt: required.expiresAt,
        seq,
      }),
    );
    this.updateToolCall(required.callId, (record) => ({
      ...record,
      approval: Object.freeze({ status: 'pending', expiresAt: required.expiresAt }),
    }));
  }

  private resolveApproval(resolved: ApprovalResolvedPayload): void {
    const index = this.pendingApprovals.findIndex((request) => request.callId === resolved.callId);
    const expiresAt = index === -1 ? 0 : (this.pendingApprovals[index]?.expiresAt ?? 0);
    if (index !== -1) this.pendingApprovals.splice(index, 1);
    this.updateToolCall(resolved.callId, (record) => {
      const approval: NonNullable<ToolCallRecord['approval']> = {
        status: resolved.approved ? 'approved' : resolved.timedOut === true ? 'timed_out' : 'denied',
        expiresAt: record.approval?.expiresAt ?? expiresAt,
      };
      if (resolved.reason !== undefined) approval.reason = resolved.reason;
      if (resolved.decidedBy !== undefined) approval.decidedBy = resolved.decidedBy;
      return { ...record, approval: Object.freeze(approval) };
    });
  }

  private updateToolCall(callId: string, update: (record: ToolCallRecord) => ToolCallRecord): void {
    const index = this.toolCallIndex.get(callId);
    const record = index === undefined ? undefined : this.toolCalls[index];
    if (index === undefined || record === undefined) return;
    this.toolCalls[index] = Object.freeze(update(record));
  }

  private applyToolResult(applied: ToolResultAppliedPayload): void {
    const index = this.toolCallIndex.get(applied.callId);
    const record = index === undefined ? undefined : this.toolCalls[index];
    if (index === undefined || record === undefined) return;
    const updated: ToolCallRecord = {
      ...record,
      status: applied.ok ? 'completed' : 'error',
      durationMs: applied.durationMs,
    };
    delete updated.error;
    if (applied.ok) updated.result = applied.result;
    else if (applied.error !== undefined) updated.error = applied.error;
    this.toolCalls[index] = Object.freeze(updated);
  }
}
