import type { EnclaveError } from '@enclave-vm/types';

/**
 * Hands an error that must not stop the session to `onError`, or, without one, rethrows it
 * asynchronously so that it surfaces like any uncaught error (the browser console, Node's
 * `uncaughtException`) instead of being swallowed.
 */
export function reportError(error: EnclaveError, onError: ((error: EnclaveError) => void) | undefined): void {
  if (onError === undefined) {
    queueMicrotask(() => {
      throw error;
    });
    return;
  }
  try {
    onError(error);
  } catch (failure) {
    queueMicrotask(() => {
      throw failure;
    });
  }
}
