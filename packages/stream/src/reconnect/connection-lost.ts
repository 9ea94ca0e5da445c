import type { EnclaveError } from '@enclave-vm/types';

/**
 * Thrown by a source of a resumable reader to say that its connection broke and should be opened
 * again from the next seq, whatever `reason`'s code (a source otherwise ends the reader with any
 * error whose code is not retryable).
 */
export class ConnectionLost extends Error {
  /** Why the connection broke; passed to `onDisconnect` and, when the reader gives up, the cause. */
  readonly reason: EnclaveError;

  constructor(reason: EnclaveError) {
    super(reason.message, { cause: reason });
    this.name = 'ConnectionLost';
    this.reason = reason;
  }
}
