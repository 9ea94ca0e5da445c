import { EnclaveError, SessionIdSchema } from '@enclave-vm/types';

/**
 * Checks a session id taken from a URL or message. A syntactically invalid id cannot name a session,
 * so it gets the same `SESSION_NOT_FOUND` (404) as an unknown one.
 */
export function parseSessionId(value: unknown): string {
  if (typeof value === 'string' && SessionIdSchema.safeParse(value).success) return value;
  throw new EnclaveError('SESSION_NOT_FOUND', 'Session not found');
}
