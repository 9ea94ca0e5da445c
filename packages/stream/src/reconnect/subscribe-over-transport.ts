import {
  EnclaveError,
  getErrorCodeInfo,
  StreamErrorMessageSchema,
  type SubscribeMessage,
  toEnclaveError,
  validate,
} from '@enclave-vm/types';
import type { Transport } from '../transport/transport.js';
import { ConnectionLost } from './connection-lost.js';
import { MessageQueue } from './message-queue.js';
import type { ResumableBatches, ResumableOpen } from './resumable.js';

/** Options of {@link subscribeOverTransport}. */
export interface TransportSubscriptionOptions {
  /** Makes the transport of one connection (a `WebSocketTransport`, an in-memory one in tests). */
  createTransport: () => Transport;
  /** The subscribe message that asks for the events from `fromSeq` on (built anew per connection). */
  subscribeMessage: (fromSeq: number) => SubscribeMessage | Promise<SubscribeMessage>;
  /** Called once a connection has subscribed, with its transport (to send on it). */
  onSubscribed?: (transport: Transport) => void;
}

/**
 * The source of a resumable reader over a message transport (the broker's WebSocket endpoint):
 * each connection opens a transport, sends a subscribe message from the seq to resume at, and
 * yields the messages that arrived together as one batch. A `stream_error` from the server breaks
 * the connection when its code is retryable and ends the reader otherwise.
 *
 * @example
 * const reader = resumable(subscribeOverTransport({
 *   createTransport: () => new WebSocketTransport({ url, WebSocket }),
 *   subscribeMessage: (fromSeq) => ({ type: 'subscribe', sessionId, fromSeq }),
 * }));
 */
export function subscribeOverTransport<TEvent>(options: TransportSubscriptionOptions): ResumableOpen<TEvent> {
  return (fromSeq, signal) =>
    ({
      [Symbol.asyncIterator]: () => subscription<TEvent>(options, fromSeq, signal),
    }) satisfies ResumableBatches<TEvent>;
}

async function* subscription<TEvent>(
  options: TransportSubscriptionOptions,
  fromSeq: number,
  signal: AbortSignal,
): AsyncGenerator<readonly TEvent[], void, undefined> {
  let transport: Transport;
  try {
    transport = options.createTransport();
  } catch (error) {
    throw toEnclaveError(error, 'CONFIGURATION_ERROR');
  }
  const queue = new MessageQueue<unknown>();
  transport.onmessage = (message) => queue.push(message);
  transport.onerror = (error) => queue.fail(toEnclaveError(error, 'CONNECTION_CLOSED'));
  transport.onclose = () => queue.fail(new EnclaveError('CONNECTION_CLOSED', 'The connection closed'));
  const onAbort = (): void => queue.fail(new EnclaveError('CONNECTION_CLOSED', 'The connection was closed'));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await transport.start();
    await transport.send(await options.subscribeMessage(fromSeq));
    if (signal.aborted) return;
    options.onSubscribed?.(transport);
    for (;;) {
      const messages = await queue.take();
      const events: TEvent[] = [];
      for (const message of messages) {
        const type =
          typeof message === 'object' && message !== null ? (message as { type?: unknown }).type : undefined;
        if (type === 'stream_error') {
          if (events.length > 0) yield events;
          throw streamError(message as object);
        }
        events.push(message as TEvent);
      }
      yield events;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    // The old connection is not waited for: a dead peer can hold a closing handshake for long.
    transport.close().catch(() => undefined);
  }
}

/** The error a `stream_error` frame stands for, as the reader should treat it. */
function streamError(message: object): Error {
  const parsed = validate(StreamErrorMessageSchema, message);
  if (!parsed.success) {
    return new ConnectionLost(new EnclaveError('PROTOCOL_ERROR', `Invalid stream_error: ${parsed.message}`));
  }
  const error = new EnclaveError(parsed.data.code, parsed.data.message);
  return getErrorCodeInfo(parsed.data.code).retryable ? new ConnectionLost(error) : error;
}
