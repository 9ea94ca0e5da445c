import type { EnclaveError, ExecutionStats } from '@enclave-vm/types';

/**
 * How a session ended, from its `final` event. `ok: false` covers every way the code can fail (an
 * uncaught error, a limit, a cancel): `error.code` says which.
 */
export interface ExecutionOutcome {
  /** Whether the code returned normally. */
  ok: boolean;
  /** What the code returned (absent when it returned `undefined` or failed). */
  result?: unknown;
  /** Why the code failed, with a code from the error table (`EXECUTION_ERROR`, `CANCELLED`, …). */
  error?: EnclaveError;
  /** Counters of the run: duration, CPU time, tool calls, console bytes. */
  stats: ExecutionStats;
}
