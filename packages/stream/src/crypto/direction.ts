import { EnclaveError } from '@enclave-vm/types';

/** Which end of a conversation a party is: the client opens it, the server answers. */
export type ChannelRole = 'client' | 'server';

/** Which way a message travels. Each direction has its own key and its own sequence numbers. */
export type Direction = 'client-to-server' | 'server-to-client';

/** Throws a `CONFIGURATION_ERROR` unless `role` is `'client'` or `'server'`. */
export function assertRole(role: unknown): asserts role is ChannelRole {
  if (role !== 'client' && role !== 'server') {
    throw new EnclaveError(
      'CONFIGURATION_ERROR',
      `role must be 'client' or 'server', got ${JSON.stringify(role)}`,
    );
  }
}
