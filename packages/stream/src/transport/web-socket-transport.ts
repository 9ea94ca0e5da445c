import { EnclaveError, toEnclaveError } from '@enclave-vm/types';
import { serializeMessage } from './serialize-message.js';
import type { Transport } from './transport.js';
import {
  resolveWebSocketConstructor,
  WEB_SOCKET_OPEN,
  type WebSocketConstructor,
  type WebSocketEventLike,
  type WebSocketLike,
} from './web-socket-like.js';

/** Options of {@link WebSocketTransport} when it opens its own connection. */
export interface WebSocketTransportConnectOptions {
  /** `ws://` or `wss://` address to connect to. */
  url: string;
  /**
   * The `WebSocket` class to use. Node 20 has no global one: pass `WebSocket` from the `ws` package.
   * @default globalThis.WebSocket
   */
  WebSocket?: WebSocketConstructor;
  /** Subprotocols offered in the handshake. */
  protocols?: string | string[];
}

/** Options of {@link WebSocketTransport} wrapping a socket that already exists (e.g. accepted by a server). */
export interface WebSocketTransportSocketOptions {
  /** A connecting or open socket, such as one a `ws` server handed to its `connection` listener. */
  socket: WebSocketLike;
}

/** Options of {@link WebSocketTransport}: an address to connect to, or an existing socket. */
export type WebSocketTransportOptions = WebSocketTransportConnectOptions | WebSocketTransportSocketOptions;

/** Close code sent when this side closes normally. */
const NORMAL_CLOSURE = 1000;

/**
 * A {@link Transport} over one WebSocket: each message is one JSON text frame. Frames that are not
 * valid JSON, and binary frames, are reported to `onerror` (`DECODE_ERROR`, `PROTOCOL_ERROR`) and
 * skipped; the connection stays open.
 *
 * @example
 * import { WebSocket } from 'ws';
 * const transport = new WebSocketTransport({ url: 'ws://127.0.0.1:8080/stream', WebSocket });
 * transport.onmessage = (message) => console.log(message);
 * await transport.start();
 * await transport.send({ type: 'subscribe', sessionId: 'ses_1', fromSeq: 1 });
 */
export class WebSocketTransport implements Transport {
  /** Called for every JSON message received. */
  onmessage?: (message: unknown) => void;
  /** Called for undecodable frames and socket errors. */
  onerror?: (error: Error) => void;
  /** Called once when the socket has closed, from either side. */
  onclose?: () => void;

  /** Close code of the closing handshake, once closed (undefined before, or when the socket died without one). */
  closeCode: number | undefined;
  /** Close reason of the closing handshake, once closed. */
  closeReason: string | undefined;

  private readonly options: WebSocketTransportOptions;
  private socket: WebSocketLike | undefined;
  private started = false;
  private closed = false;
  private lastError: EnclaveError | undefined;
  private settleStart: ((error?: EnclaveError) => void) | undefined;
  private readonly closeWaiters: Array<() => void> = [];

  constructor(options: WebSocketTransportOptions) {
    this.options = options;
  }

  /**
   * Opens the connection (or adopts the given socket). Resolves when the socket is open; rejects
   * with `CONNECTION_CLOSED` when it closes first, `CONFIGURATION_ERROR` when no `WebSocket` class
   * is available or the URL is invalid.
   */
  start(): Promise<void> {
    if (this.started) {
      return Promise.reject(
        new EnclaveError('CONFIGURATION_ERROR', 'The WebSocket transport was already started'),
      );
    }
    this.started = true;
    if (this.closed)
      return Promise.reject(new EnclaveError('CONNECTION_CLOSED', 'The WebSocket transport is closed'));
    let socket: WebSocketLike;
    try {
      socket = this.createSocket();
    } catch (error) {
      this.finish();
      return Promise.reject(toEnclaveError(error, 'CONFIGURATION_ERROR'));
    }
    this.socket = socket;
    return new Promise<void>((resolve, reject) => {
      this.settleStart = (error) => {
        this.settleStart = undefined;
        if (error === undefined) resolve();
        else reject(error);
      };
      socket.addEventListener('open', () => this.settleStart?.());
      socket.addEventListener('message', (event) => this.handleMessage(event));
      socket.addEventListener('error', (event) => this.handleError(event));
      socket.addEventListener('close', (event) => this.handleClose(event));
      if (socket.readyState === WEB_SOCKET_OPEN) this.settleStart?.();
      else if (socket.readyState > WEB_SOCKET_OPEN) {
        this.handleClose({ type: 'close' });
      }
    });
  }

  /** Sends one message as a JSON text frame. */
  async send(message: unknown): Promise<void> {
    const socket = this.socket;
    if (socket === undefined || this.closed || socket.readyState !== WEB_SOCKET_OPEN) {
      throw new EnclaveError('CONNECTION_CLOSED', 'The WebSocket is not open');
    }
    socket.send(serializeMessage(message));
  }

  /** Starts the closing handshake and resolves when the socket has closed. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const socket = this.socket;
    if (socket === undefined) {
      this.finish();
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.closeWaiters.push(resolve);
      socket.close(NORMAL_CLOSURE);
    });
  }

  private createSocket(): WebSocketLike {
    if ('socket' in this.options) return this.options.socket;
    const WebSocketClass = resolveWebSocketConstructor(this.options.WebSocket);
    return this.options.protocols === undefined
      ? new WebSocketClass(this.options.url)
      : new WebSocketClass(this.options.url, this.options.protocols);
  }

  private handleMessage(event: WebSocketEventLike): void {
    if (this.closed) return;
    const data = event.data;
    if (typeof data !== 'string') {
      this.onerror?.(
        new EnclaveError('PROTOCOL_ERROR', 'Received a binary frame; only JSON text frames are accepted'),
      );
      return;
    }
    let message: unknown;
    try {
      message = JSON.parse(data);
    } catch (error) {
      this.onerror?.(
        new EnclaveError(
          'DECODE_ERROR',
          `Received a frame that is not valid JSON (${data.length} characters)`,
          {
            cause: error,
          },
        ),
      );
      return;
    }
    this.onmessage?.(message);
  }

  private handleError(event: WebSocketEventLike): void {
    if (this.closed) return;
    const detail = event.message === undefined || event.message === '' ? 'WebSocket error' : event.message;
    const error = new EnclaveError('CONNECTION_CLOSED', detail, { cause: event });
    this.lastError = error;
    // Before the socket opened, the error belongs to start(); the close event that follows rejects it.
    if (this.settleStart === undefined) this.onerror?.(error);
  }

  private handleClose(event: WebSocketEventLike): void {
    if (this.closed) return;
    this.closeCode = event.code;
    this.closeReason = event.reason;
    const settleStart = this.settleStart;
    if (settleStart !== undefined) {
      const reason = this.lastError?.message ?? `closed with code ${event.code ?? 'unknown'}`;
      settleStart(
        new EnclaveError('CONNECTION_CLOSED', `The WebSocket closed before it opened: ${reason}`, {
          cause: this.lastError,
        }),
      );
    }
    this.finish();
  }

  private finish(): void {
    this.closed = true;
    this.onclose?.();
    for (const resolve of this.closeWaiters.splice(0)) resolve();
  }
}
