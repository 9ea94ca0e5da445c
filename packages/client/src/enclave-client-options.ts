import {
  DEFAULT_HEARTBEAT_TIMEOUT,
  DEFAULT_RETRY_POLICY,
  type WebSocketConstructor,
} from '@enclave-vm/stream';
import type { ClientTools } from './tools/client-tool.js';

/** Request headers: a plain object of names and values. */
export type HeaderValues = Record<string, string>;

/**
 * Headers sent with every request: a static object, or a function called before each request (to
 * attach a fresh token). The function may be async.
 */
export type HeadersOption = HeaderValues | (() => HeaderValues | Promise<HeaderValues>);

/** The `fetch` function the client uses (the global one, a polyfill, or a wrapper). */
export type FetchFunction = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * How the client follows a session's events after starting it: `http` reads the NDJSON answer of
 * `POST /execute` and resumes with `GET /sessions/:id/events?fromSeq=N`; `websocket` subscribes
 * through the broker's WebSocket endpoint `/sessions/stream` (with `ReconnectingStream`).
 */
export type ClientTransport = 'http' | 'websocket';

/** When and how often the client reconnects a broken event stream. */
export interface ClientReconnectOptions {
  /**
   * Consecutive failed attempts (connections that delivered no new event) after which the client
   * gives up with `RECONNECT_FAILED`. `0` never reconnects; `Infinity` never gives up.
   * @default 10
   */
  maxAttempts?: number;
  /**
   * Delay before the first attempt, in ms.
   * @default 1000
   */
  initialDelay?: number;
  /**
   * Longest delay between attempts, in ms.
   * @default 30000
   */
  maxDelay?: number;
  /**
   * Factor by which the delay grows per consecutive failed attempt.
   * @default 2
   */
  backoffMultiplier?: number;
  /**
   * Share of each delay that is random (0 none, 1 anywhere from 0 to the full delay), so that
   * clients that lost the same broker do not all come back at once.
   * @default 0.5
   */
  jitter?: number;
}

/** Options of {@link EnclaveClient}. */
export interface EnclaveClientOptions {
  /** Base URL of the broker, e.g. `http://localhost:3001` (a path prefix is kept). */
  brokerUrl: string;
  /** Headers sent with every request, e.g. `{ authorization: 'Bearer …' }`, or a function returning them. */
  headers?: HeadersOption;
  /**
   * The `fetch` implementation.
   * @default globalThis.fetch
   */
  fetch?: FetchFunction;
  /**
   * The `WebSocket` class, used only with `transport: 'websocket'`.
   * @default globalThis.WebSocket, else (in Node 20, which has none) the `ws` package's when it is installed
   */
  WebSocket?: WebSocketConstructor;
  /**
   * Credentials sent in the WebSocket subscribe message (browsers cannot set headers on a
   * WebSocket): the bare token for `bearer` auth, the key for `api-key` auth. A function is called
   * once per subscription.
   */
  webSocketToken?: string | (() => string | Promise<string>);
  /** Tools this client answers (`tool_call` events with `answeredBy: 'client'`), by name. */
  tools?: ClientTools;
  /** Reconnection policy of the event stream; each field has its own default. */
  reconnect?: ClientReconnectOptions;
  /**
   * Encrypt every session end to end (ECDH P-256 → HKDF-SHA-256 → AES-256-GCM): events arrive
   * sealed and are opened by the client, tool results leave sealed.
   * @default false
   */
  encryption?: boolean;
  /**
   * How the events of a session are followed.
   * @default 'http'
   */
  transport?: ClientTransport;
  /**
   * Ms without a byte (HTTP) or a message (WebSocket) after which a connection counts as dead and is
   * replaced. The broker sends a heartbeat every 15 s while a session runs; keep this a few times
   * longer. `0` turns the check off.
   * @default 60000
   */
  heartbeatTimeout?: number;
}

/** The defaults of {@link EnclaveClientOptions} and {@link ClientReconnectOptions}. */
export const CLIENT_DEFAULTS = Object.freeze({
  ...DEFAULT_RETRY_POLICY,
  heartbeatTimeout: DEFAULT_HEARTBEAT_TIMEOUT,
  transport: 'http' as ClientTransport,
  encryption: false,
});
