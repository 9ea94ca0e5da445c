import { EnclaveError } from '@enclave-vm/types';

/** The reason an aborted signal carries, as an `EnclaveError` (`CANCELLED` when it is not one). */
export function abortReason(signal: AbortSignal): EnclaveError {
  const reason: unknown = signal.reason;
  if (EnclaveError.isInstance(reason)) return reason;
  if (reason instanceof DOMException && reason.name === 'TimeoutError') {
    return new EnclaveError('TOOL_TIMEOUT', 'The request timed out', { cause: reason });
  }
  return new EnclaveError('CANCELLED', 'The request was cancelled', { cause: reason });
}
