import type { ExecutionEventListener, ExecutionHandle } from '@enclave-vm/runtime';
import { EnclaveError, type FinalPayload, type WireError } from '@enclave-vm/types';

/**
 * A run that ends before it starts: `onEvent` receives a non-recoverable `error` and then the `final`
 * carrying the same error, asynchronously (never before this returns), as every executor does. Used
 * when no runtime can take the session (`RUNTIME_UNAVAILABLE`) or the executor is closed
 * (`SHUTTING_DOWN`).
 */
export function createEndedExecution(
  sessionId: string,
  onEvent: ExecutionEventListener,
  error: WireError,
): ExecutionHandle {
  const payload: FinalPayload = {
    ok: false,
    error,
    stats: { durationMs: 0, cpuTimeMs: 0, toolCalls: 0, stdoutBytes: 0 },
  };
  const done = new Promise<FinalPayload>((resolve) => {
    queueMicrotask(() => {
      try {
        onEvent({ type: 'error', payload: { code: error.code, message: error.message, recoverable: false } });
        onEvent({ type: 'final', payload });
      } finally {
        resolve(payload);
      }
    });
  });
  return {
    sessionId,
    done,
    submitToolResult(callId: string): void {
      throw new EnclaveError(
        'SESSION_ENDED',
        `Session ${sessionId} has ended (${error.code}); tool call ${callId} cannot be answered`,
      );
    },
    cancel(): void {},
  };
}
