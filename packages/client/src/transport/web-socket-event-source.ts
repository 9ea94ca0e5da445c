import { subscribeOverTransport, type WebSocketConstructor, WebSocketTransport } from '@enclave-vm/stream';
import { EnclaveError, type SubscribeMessage } from '@enclave-vm/types';
import type { EventSource, EventSourceContext } from './event-source.js';

/** Options of {@link webSocketEventSource}. */
export interface WebSocketEventSourceOptions {
  /** `ws(s)://…/sessions/stream`. */
  url: string;
  /** The `WebSocket` class; by default the global one, else the `ws` package's. */
  WebSocket: WebSocketConstructor | undefined;
  /** Credentials for the subscribe message; a function is called once per subscription. */
  token: string | (() => string | Promise<string>) | undefined;
}

/**
 * Events over the broker's WebSocket endpoint: each connection subscribes from the seq to resume
 * at; the messages that arrived while a batch was handled come as the next batch. The answer of
 * `POST /execute` only had to name the session, so it is closed.
 */
export function webSocketEventSource(
  options: WebSocketEventSourceOptions,
  context: EventSourceContext,
): EventSource {
  const subscribe = subscribeOverTransport<unknown>({
    createTransport: () => new WebSocketTransport({ url: options.url, WebSocket: options.WebSocket }),
    subscribeMessage: async (fromSeq) => {
      const sessionId = context.sessionId();
      if (sessionId === undefined) {
        throw new EnclaveError('PROTOCOL_ERROR', 'POST /execute answered without an x-session-id header');
      }
      const message: SubscribeMessage = { type: 'subscribe', sessionId, fromSeq };
      const token = typeof options.token === 'function' ? await options.token() : options.token;
      if (token !== undefined) message.token = token;
      return message;
    },
  });
  return {
    async adopt(response) {
      await response.body?.cancel().catch(() => undefined);
      if (context.sessionId() === undefined) {
        throw new EnclaveError('PROTOCOL_ERROR', 'POST /execute answered without an x-session-id header');
      }
    },
    open: subscribe,
  };
}
