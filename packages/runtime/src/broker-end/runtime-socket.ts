/**
 * The event object a {@link RuntimeSocket} passes to its listeners. The `ws` package's `WebSocket`
 * provides all of these fields.
 */
export interface RuntimeSocketEvent {
  /** Payload of a `message` event. */
  readonly data?: unknown;
  /** Close code of a `close` event. */
  readonly code?: number;
  /** Close reason of a `close` event. */
  readonly reason?: string | Buffer;
  /** Description of an `error` event. */
  readonly message?: string;
}

/** The part of a WebSocket that {@link connectRuntime} uses; `ws`'s `WebSocket` satisfies it. */
export interface RuntimeSocket {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Sends one text frame. */
  send(data: string): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** Drops the connection at once, without a closing handshake (used when the peer stops answering). */
  terminate?(): void;
  /** Registers a listener. */
  addEventListener(
    type: 'open' | 'message' | 'close' | 'error',
    listener: (event: RuntimeSocketEvent) => void,
  ): void;
}

/**
 * A WebSocket constructor taking `headers` (to send `Authorization`), like `ws`'s `WebSocket`
 * (`new WebSocket(url, { headers })`). Browsers' `WebSocket` cannot send headers and is not
 * suitable: runtime workers are reached from a server.
 */
export type RuntimeSocketConstructor = new (
  url: string,
  options?: { headers?: Record<string, string> },
) => RuntimeSocket;

/** `readyState` of an open socket. */
export const SOCKET_OPEN = 1;
