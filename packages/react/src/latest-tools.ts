import type { ClientToolHandler, ClientTools } from '@enclave-vm/client';
import { EnclaveError } from '@enclave-vm/types';
import type { RefObject } from 'react';

/**
 * The client tools of one session: the provider's and the hook's (as of their latest render, looked
 * up when the code calls them, so a handler is never stale) and the call's own. Later sources
 * override earlier ones: provider, then hook, then call.
 */
export function latestTools(
  providerTools: RefObject<ClientTools | undefined>,
  hookTools: RefObject<ClientTools | undefined>,
  callTools: ClientTools | undefined,
): ClientTools {
  const tools: ClientTools = {};
  const names = new Set([
    ...Object.keys(providerTools.current ?? {}),
    ...Object.keys(hookTools.current ?? {}),
  ]);
  for (const name of names) {
    tools[name] = (args, context) => {
      const handler = ownHandler(hookTools.current, name) ?? ownHandler(providerTools.current, name);
      if (handler === undefined) {
        throw new EnclaveError(
          'TOOL_NOT_FOUND',
          `The client tool ${JSON.stringify(name)} was removed while the session was running`,
        );
      }
      return handler(args, context);
    };
  }
  return callTools === undefined ? tools : { ...tools, ...callTools };
}

function ownHandler(tools: ClientTools | undefined, name: string): ClientToolHandler | undefined {
  return tools !== undefined && Object.hasOwn(tools, name) ? tools[name] : undefined;
}
