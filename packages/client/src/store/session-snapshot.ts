import type {
  ApprovalDecider,
  EnclaveError,
  ExecutionStats,
  LogLevel,
  StreamEvent,
  ToolAnswerer,
  WireError,
} from '@enclave-vm/types';
import type { ApprovalRequest } from '../approvals/approval-request.js';

/**
 * Where a session is, as a UI shows it: `idle` before it starts, `running` from the request on,
 * then `completed` (the code returned), `error` (the code failed or the client lost the session)
 * or `cancelled` (it was cancelled).
 */
export type SessionState = 'idle' | 'running' | 'completed' | 'error' | 'cancelled';

/** One `log` event as the store keeps it. */
export interface LogEntry {
  /** `debug`, `info`, `warn` or `error`. */
  level: LogLevel;
  /** The formatted message. */
  message: string;
  /** Structured data passed with the message, when there was any. */
  data?: unknown;
  /** Seq of the event. */
  seq: number;
  /** Epoch ms at which the broker numbered it. */
  ts: number;
}

/**
 * Where the approval of a tool call is: waiting for a decision, approved (the tool runs), denied, or
 * timed out (nobody decided in time).
 */
export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'timed_out';

/** The approval of a tool call that required one, as the store keeps it. */
export interface ToolCallApproval {
  /** Where the approval is. */
  status: ApprovalStatus;
  /** Epoch ms at which the call fails with `APPROVAL_TIMEOUT` unless someone decides. */
  expiresAt: number;
  /** The reason given with the decision, if any. */
  reason?: string;
  /** Who decided, when the broker knew (the authenticated user). */
  decidedBy?: ApprovalDecider;
}

/** Where a tool call is: waiting for its result, answered, or failed. */
export type ToolCallStatus = 'pending' | 'completed' | 'error';

/** One tool call as the store keeps it, updated when its result is applied. */
export interface ToolCallRecord {
  /** The id of the call, unique within the session. */
  callId: string;
  /** The tool name as the code spelled it. */
  toolName: string;
  /** The arguments the code passed. */
  args: unknown;
  /** Who answers it: a tool on the broker, or this client. */
  answeredBy: ToolAnswerer;
  /** `pending` until `tool_result_applied`, then `completed` or `error`. */
  status: ToolCallStatus;
  /** The result handed to the code, once completed. */
  result?: unknown;
  /** Why the call failed, once failed. */
  error?: WireError;
  /** Ms from the call to its result, once applied. */
  durationMs?: number;
  /** Seq of the `tool_call` event. */
  seq: number;
  /** For a call of a tool that requires approval: the approval's status and decision. */
  approval?: ToolCallApproval;
}

/**
 * An immutable picture of one session. `getSnapshot()` returns the same object until something
 * changed, so it can feed `useSyncExternalStore` directly.
 */
export interface SessionSnapshot {
  /** Where the session is. */
  readonly state: SessionState;
  /** The session id, once the broker gave it. */
  readonly sessionId: string | undefined;
  /** Every `stdout` chunk so far, concatenated. */
  readonly stdout: string;
  /** Every `log` event so far. */
  readonly logs: readonly LogEntry[];
  /** Every tool call so far, in call order. */
  readonly toolCalls: readonly ToolCallRecord[];
  /**
   * Tool calls waiting for a person's approval, in the order they asked: decide each with the
   * store's (or the session's) `approve(callId)` or `deny(callId, reason)`.
   */
  readonly pendingApprovals: readonly ApprovalRequest[];
  /** What the code returned, once completed. */
  readonly result: unknown;
  /** Why the session failed: the code's error, or the error that lost the session. */
  readonly error: EnclaveError | undefined;
  /** Counters of the run, once it ended. */
  readonly stats: ExecutionStats | undefined;
  /** Every delivered event so far, in seq order. */
  readonly events: readonly StreamEvent[];
}
