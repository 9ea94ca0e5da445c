import { type ClientTools, EnclaveClient, type EnclaveClientOptions } from '@enclave-vm/client';
import { EnclaveError } from '@enclave-vm/types';
import { type ReactElement, type ReactNode, useMemo } from 'react';
import { EnclaveContext, type EnclaveContextValue } from './enclave-context.js';
import { useLatest } from './use-latest.js';

/** Options of the client `EnclaveProvider` creates from `brokerUrl`. */
export type EnclaveProviderClientOptions = Omit<EnclaveClientOptions, 'brokerUrl' | 'tools'>;

/** Props every {@link EnclaveProvider} takes. */
interface EnclaveProviderSharedProps {
  /**
   * Client-side tools, by name, that answer the tool calls of sessions started with
   * `useEnclaveSession` below this provider (`await tools.confirm({ question })` in the code).
   * Handlers are read at call time, so an inline object with fresh closures is fine.
   */
  tools?: ClientTools;
  /** The components that use the hooks. */
  children?: ReactNode;
}

/** Props of an {@link EnclaveProvider} that creates its own client. */
interface EnclaveProviderBrokerUrlProps extends EnclaveProviderSharedProps {
  /** Base URL of the broker, e.g. `http://localhost:3000`. A new client is created when it changes. */
  brokerUrl: string;
  /**
   * Further options of the created client (`headers`, `fetch`, `reconnect`, `transport`, …). Read
   * when the client is created: after a change, remount the provider (e.g. with a `key`) to apply it.
   */
  clientOptions?: EnclaveProviderClientOptions;
  client?: never;
}

/** Props of an {@link EnclaveProvider} that shares a client created elsewhere. */
interface EnclaveProviderClientProps extends EnclaveProviderSharedProps {
  /** A client created by the application, e.g. one also used outside React. */
  client: EnclaveClient;
  brokerUrl?: never;
  clientOptions?: never;
}

/** Props of {@link EnclaveProvider}: a `brokerUrl` (the provider creates the client) or a `client`. */
export type EnclaveProviderProps = EnclaveProviderBrokerUrlProps | EnclaveProviderClientProps;

/**
 * Makes an EnclaveJS client available to `useEnclaveSession` and `useEnclaveClient` in its subtree.
 * Give it the broker's URL, or a client you created yourself.
 *
 * @example
 * <EnclaveProvider brokerUrl="http://localhost:3000" tools={{ confirm: async ({ question }: { question: string }) => window.confirm(question) }}>
 *   <CodeExecutor />
 * </EnclaveProvider>
 */
export function EnclaveProvider(props: EnclaveProviderProps): ReactElement {
  const { brokerUrl, client: givenClient, clientOptions, tools, children } = props;
  checkProps(props);
  // clientOptions are read only when the client is created: they are usually an inline object, new
  // on every render, which must not create a new client each time.
  // biome-ignore lint/correctness/useExhaustiveDependencies: clientOptions are deliberately left out (see above).
  const client = useMemo(
    () => givenClient ?? new EnclaveClient({ ...clientOptions, brokerUrl: brokerUrl as string }),
    [givenClient, brokerUrl],
  );
  const toolsReference = useLatest(tools);
  const value = useMemo<EnclaveContextValue>(
    () => ({ client, tools: toolsReference }),
    [client, toolsReference],
  );
  return <EnclaveContext.Provider value={value}>{children}</EnclaveContext.Provider>;
}

function checkProps(props: EnclaveProviderProps): void {
  const hasBrokerUrl = props.brokerUrl !== undefined;
  const hasClient = props.client !== undefined;
  if (hasBrokerUrl && hasClient) {
    throw new EnclaveError(
      'CONFIGURATION_ERROR',
      '<EnclaveProvider> got both brokerUrl and client: pass one of them (the client already knows its broker).',
    );
  }
  if (!hasBrokerUrl && !hasClient) {
    throw new EnclaveError(
      'CONFIGURATION_ERROR',
      '<EnclaveProvider> needs the broker to talk to: pass brokerUrl="http://localhost:3000" or client={new EnclaveClient({ brokerUrl })}.',
    );
  }
  if (hasBrokerUrl && typeof props.brokerUrl !== 'string') {
    throw new EnclaveError('CONFIGURATION_ERROR', '<EnclaveProvider> brokerUrl must be a string URL.');
  }
  // Duck-typed rather than instanceof, so that a client from a second copy of the package is accepted.
  if (hasClient && typeof props.client?.execute !== 'function') {
    throw new EnclaveError(
      'CONFIGURATION_ERROR',
      '<EnclaveProvider> client must be an EnclaveClient from @enclave-vm/client.',
    );
  }
}
