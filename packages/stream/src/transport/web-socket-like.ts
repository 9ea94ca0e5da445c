import { EnclaveError } from '@enclave-vm/types';
import { loadWebSocketPackage } from './load-web-socket-package.js';

/**
 * The event object the transports read from a `WebSocket` listener: a message's `data`, a close's
 * `code` and `reason`. Both the DOM `WebSocket` and the `ws` package provide these fields.
 */
export interface WebSocketEventLike {
  /** Event name (`open`, `message`, `close`, `error`). */
  readonly type: string;
  /** Payload of a `message` event (a string for text frames). */
  readonly data?: unknown;
  /** Close code of a `close` event. */
  readonly code?: number;
  /** Close reason of a `close` event. */
  readonly reason?: string;
  /** Description of an `error` event (the `ws` package sets it; browsers do not). */
  readonly message?: string;
}

/**
 * The part of a `WebSocket` instance the transports use. The DOM `WebSocket` and `ws`'s `WebSocket`
 * class both satisfy it.
 */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Sends one text frame. */
  send(data: string): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** Registers a listener for `open`, `message`, `close` or `error`. */
  addEventListener(
    type: 'open' | 'message' | 'close' | 'error',
    listener: (event: WebSocketEventLike) => void,
  ): void;
}

/**
 * A `WebSocket` constructor: `globalThis.WebSocket` in browsers and Node 22+, or the `ws` package's
 * `WebSocket` class in Node 20.
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** `readyState` of an open `WebSocket`. */
export const WEB_SOCKET_OPEN = 1;

/**
 * Returns the given constructor, else `globalThis.WebSocket`, else (in Node without a global one,
 * i.e. Node 20) the `ws` package's `WebSocket` class when it is installed; throws
 * `CONFIGURATION_ERROR` when there is none of them.
 *
 * @param globalScope where to look for a global `WebSocket`. @default globalThis
 * @param loadPackage loads the `ws` package's class. @default the build's loader (none in browsers)
 */
export function resolveWebSocketConstructor(
  provided: WebSocketConstructor | undefined,
  globalScope: { WebSocket?: unknown } = globalThis,
  loadPackage: () => WebSocketConstructor | undefined = loadWebSocketPackage,
): WebSocketConstructor {
  if (provided !== undefined) return provided;
  const globalConstructor = globalScope.WebSocket;
  if (typeof globalConstructor === 'function') return globalConstructor as WebSocketConstructor;
  const fromPackage = loadPackage();
  if (fromPackage !== undefined) return fromPackage;
  throw new EnclaveError(
    'CONFIGURATION_ERROR',
    'No WebSocket implementation: this runtime has no global WebSocket and the `ws` package is not installed. Install `ws` (npm install ws) or pass a WebSocket class as the `WebSocket` option.',
  );
}
