import type { ErrorPayload, ExecutionStats, FinalPayload, RuntimeEvent, WireError } from '@enclave-vm/types';

/**
 * Counts what a session has emitted (tool calls, console bytes, elapsed time), so that a session
 * ended from outside its sandbox (a lost runtime, a shutdown) still reports meaningful `stats`.
 */
export class SessionTally {
  private readonly startedAt = performance.now();
  private toolCalls = 0;
  private stdoutBytes = 0;

  /** Accounts one event of the session. */
  observe(event: RuntimeEvent): void {
    if (event.type === 'tool_call') this.toolCalls += 1;
    else if (event.type === 'stdout') this.stdoutBytes += Buffer.byteLength(event.payload.chunk, 'utf8');
    else if (event.type === 'log') this.stdoutBytes += Buffer.byteLength(event.payload.message, 'utf8');
  }

  /** Stats so far. CPU time is not observable from outside the sandbox and reads 0. */
  stats(): ExecutionStats {
    return {
      durationMs: Math.max(0, performance.now() - this.startedAt),
      cpuTimeMs: 0,
      toolCalls: this.toolCalls,
      stdoutBytes: this.stdoutBytes,
    };
  }
}

/** Stats of a session that never started. */
export function emptyStats(): ExecutionStats {
  return { durationMs: 0, cpuTimeMs: 0, toolCalls: 0, stdoutBytes: 0 };
}

/**
 * The two events that end a session from outside its sandbox: a non-recoverable `error` and the
 * `final` carrying the same error.
 */
export function endingEvents(
  error: WireError,
  stats: ExecutionStats,
): [{ type: 'error'; payload: ErrorPayload }, { type: 'final'; payload: FinalPayload }] {
  const errorPayload: ErrorPayload = { code: error.code, message: error.message, recoverable: false };
  if (error.details !== undefined) errorPayload.details = error.details;
  return [
    { type: 'error', payload: errorPayload },
    { type: 'final', payload: { ok: false, error, stats } },
  ];
}
