import type { ClientTools, EnclaveClient } from '@enclave-vm/client';
import { EnclaveError } from '@enclave-vm/types';
import { createContext, type RefObject, useContext } from 'react';

/** What `EnclaveProvider` shares with the hooks below it. */
export interface EnclaveContextValue {
  /** The client every session of the subtree runs on. */
  client: EnclaveClient;
  /** The provider's client-side tools as of its latest render. */
  tools: RefObject<ClientTools | undefined>;
}

/** The context `EnclaveProvider` fills; `undefined` outside of one. */
export const EnclaveContext = createContext<EnclaveContextValue | undefined>(undefined);
EnclaveContext.displayName = 'EnclaveContext';

/**
 * Reads the provider's value for `hookName`, or throws a `CONFIGURATION_ERROR` that says how to fix
 * a missing provider.
 */
export function useEnclaveContext(hookName: string): EnclaveContextValue {
  const value = useContext(EnclaveContext);
  if (value === undefined) {
    throw new EnclaveError(
      'CONFIGURATION_ERROR',
      `${hookName}() was called outside of <EnclaveProvider>. Render the component inside one, ` +
        'e.g. <EnclaveProvider brokerUrl="http://localhost:3000"><App /></EnclaveProvider> ' +
        '(import { EnclaveProvider } from "@enclave-vm/react").',
    );
  }
  return value;
}
