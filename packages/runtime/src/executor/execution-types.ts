import type { FinalPayload, RuntimeEvent, SessionLimits, WireError } from '@enclave-vm/types';

/** What to run: one session's code under its limits. */
export interface ExecutionSpec {
  /** The broker's session id; events and tool calls are reported under it. */
  sessionId: string;
  /** The user code: the body of an async function (top-level `await` and `return` work). */
  code: string;
  /** Limits in force (see `resolveLimits` in @enclave-vm/types). */
  limits: SessionLimits;
  /** Read-only data the code sees as the deep-frozen global `context`. */
  context?: Record<string, unknown>;
  /**
   * Sessions with the same key may run one after another in one engine instance, when the executor
   * was created with `sessionsPerInstance` above 1 (opt-in reuse; see docs/security.md). Without a
   * key a session always gets a fresh instance. Give each tenant its own key.
   */
  isolationKey?: string;
}

/** The answer to one tool call: a JSON-serialisable result, or an error thrown inside the guest. */
export type ToolOutcome = { ok: true; result: unknown } | { ok: false; error: WireError };

/** Receives the events of one run, in order. `final` is always the last one, exactly once. */
export type ExecutionEventListener = (event: RuntimeEvent) => void;

/** A running execution. */
export interface ExecutionHandle {
  /** The session id of the spec. */
  readonly sessionId: string;
  /**
   * Hands the result of a `tool_call` back to the guest. Throws an `EnclaveError` with code
   * `TOOL_CALL_NOT_FOUND` for an unknown call id, `TOOL_CALL_ALREADY_ANSWERED` for a second answer,
   * `SESSION_ENDED` once the run has ended.
   */
  submitToolResult(callId: string, outcome: ToolOutcome): void;
  /** Stops the run; it ends with `error` + `final` (code `CANCELLED`). No effect once ended. */
  cancel(reason?: string): void;
  /** Resolves with the `final` payload once the run has ended (never rejects). */
  readonly done: Promise<FinalPayload>;
}

/**
 * Anything that runs sessions: the in-process worker-thread pool, or a connection to a standalone
 * runtime worker. The broker talks to both through this interface.
 */
export interface SessionExecutor {
  /** Starts a run. Events arrive through `onEvent`, asynchronously, never before this returns. */
  execute(spec: ExecutionSpec, onEvent: ExecutionEventListener): ExecutionHandle;
  /** Runs in progress. */
  readonly activeSessions: number;
  /**
   * Of the runs in progress, those parked right now: waiting on tool calls with their engine
   * instance freed until the next result (see `parkAfterMs`). Executors that do not park leave it
   * out. For a connection to a runtime worker it is the worker's whole count, which includes the
   * sessions of other brokers it serves.
   */
  readonly parkedSessions?: number;
  /** Ends every running session with `error` + `final` (code `SHUTTING_DOWN`) and releases resources. */
  close(): Promise<void>;
}
