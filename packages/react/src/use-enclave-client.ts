import type { EnclaveClient } from '@enclave-vm/client';
import { useEnclaveContext } from './enclave-context.js';

/**
 * The `EnclaveClient` of the nearest `EnclaveProvider`, for what the session hook does not cover:
 * `client.health()`, `client.listActions()`, `client.resume(sessionId)`, or running several sessions
 * at once. Throws a `CONFIGURATION_ERROR` outside of a provider.
 *
 * @example
 * const client = useEnclaveClient();
 * useEffect(() => { client.health().then((health) => setActive(health.sessions.active)); }, [client]);
 */
export function useEnclaveClient(): EnclaveClient {
  return useEnclaveContext('useEnclaveClient').client;
}
