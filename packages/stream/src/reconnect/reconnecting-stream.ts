import {
  EnclaveError,
  type SubscribeMessage,
  SubscribeMessageSchema,
  toEnclaveError,
  validate,
  type WireEvent,
} from '@enclave-vm/types';
import type { Transport } from '../transport/transport.js';
import { resolveWebSocketConstructor, type WebSocketConstructor } from '../transport/web-socket-like.js';
import { WebSocketTransport } from '../transport/web-socket-transport.js';
import type { BackoffOptions } from './compute-backoff-delay.js';
import { type ResumableReader, resumable } from './resumable.js';
import {
  DEFAULT_HEARTBEAT_TIMEOUT,
  DEFAULT_RETRY_POLICY,
  type RetryPolicy,
  resolveRetryPolicy,
} from './retry-policy.js';
import type { SequencedMessage } from './sequence-tracker.js';
import { subscribeOverTransport } from './subscribe-over-transport.js';

/**
 * Where a {@link ReconnectingStream} is: `idle` before `connect()`, `connecting` until the first
 * connection opens, `open` while subscribed, `reconnecting` while waiting for or opening a new
 * connection after a failure, `closed` for good (after `final`, `close()` or giving up).
 */
export type ReconnectingStreamState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Reconnection policy of a {@link ReconnectingStream}. */
export interface ReconnectOptions extends Partial<BackoffOptions> {
  /**
   * Consecutive failed attempts after which the stream gives up with `RECONNECT_FAILED`. The count
   * resets whenever a connection delivers an event. `0` never reconnects; `Infinity` never gives up.
   * @default 10
   */
  maxAttempts?: number;
}

/** Options of {@link ReconnectingStream}. */
export interface ReconnectingStreamOptions<TMessage extends SequencedMessage = WireEvent> {
  /** WebSocket address of the event stream, e.g. `wss://broker.example.com/sessions/stream`. */
  url: string;
  /** The session to subscribe to. */
  sessionId: string;
  /** Backoff and give-up policy; each field has its own default. */
  reconnect?: ReconnectOptions;
  /**
   * Called when a new connection attempt starts after a failure, with the attempt number (from 1)
   * and what ended the previous connection.
   */
  onReconnect?: (attempt: number, reason: EnclaveError) => void;
  /** Called once per event, in `seq` order, never twice for one seq. */
  onMessage?: (message: TMessage) => void;
  /**
   * The `WebSocket` class.
   * @default globalThis.WebSocket, else (in Node 20) the `ws` package's when it is installed
   */
  WebSocket?: WebSocketConstructor;
  /** Subprotocols offered in each handshake. */
  protocols?: string | string[];
  /**
   * First seq wanted; events before it are neither requested nor delivered.
   * @default 1
   */
  fromSeq?: number;
  /**
   * Ms without any message (events or heartbeats, and while a connection is being opened) after
   * which the connection is treated as dead and replaced. Set it to a few times the server's
   * heartbeat interval. `0` turns the check off.
   * @default 60000
   */
  heartbeatTimeout?: number;
  /** Credentials sent in the subscribe message (browsers cannot set headers on a WebSocket). */
  token?: string;
  /**
   * Called with errors the user should see: the error that ended the stream (`RECONNECT_FAILED`, a
   * non-retryable `stream_error`), and errors thrown by `onMessage`.
   */
  onError?: (error: EnclaveError) => void;
  /** Called once when the stream has ended, with the error when it ended because of one. */
  onClose?: (error?: EnclaveError) => void;
  /** Called on every state change. */
  onStateChange?: (state: ReconnectingStreamState, previous: ReconnectingStreamState) => void;
  /**
   * Makes the transport of each connection attempt; by default a {@link WebSocketTransport} to `url`.
   * Wrap or replace it to add encryption, or to run over an in-memory pair in tests.
   */
  createTransport?: (url: string) => Transport;
}

interface PendingSend {
  readonly message: unknown;
  readonly resolve: () => void;
  readonly reject: (error: EnclaveError) => void;
}

/** Defaults of {@link ReconnectOptions} and the heartbeat timeout: the wire's defaults. */
export const RECONNECTING_STREAM_DEFAULTS = Object.freeze({
  ...DEFAULT_RETRY_POLICY,
  heartbeatTimeout: DEFAULT_HEARTBEAT_TIMEOUT,
  fromSeq: 1,
});

/**
 * Follows one session's event stream over a WebSocket and survives connection loss: after a drop it
 * reconnects with exponential backoff and resubscribes from the first seq it has not delivered, so
 * every event reaches `onMessage` exactly once and in order. It ends after delivering `final`, on
 * `close()`, on a non-retryable `stream_error` from the server, or after `maxAttempts` consecutive
 * failed attempts (`RECONNECT_FAILED`). A callback-style layer over the wire's resumable reader
 * (`resumable` with `subscribeOverTransport`), which does the resuming.
 *
 * @example
 * const stream = new ReconnectingStream({
 *   url: 'wss://runtime.example.com',
 *   sessionId: 'session_123',
 *   reconnect: { maxAttempts: 5, initialDelay: 1000, maxDelay: 30000, backoffMultiplier: 2 },
 *   onReconnect: (attempt) => console.log(`Reconnecting (attempt ${attempt})...`),
 *   onMessage: (message) => handleMessage(message),
 * });
 * await stream.connect();
 */
export class ReconnectingStream<TMessage extends SequencedMessage = WireEvent> {
  private readonly options: ReconnectingStreamOptions<TMessage>;
  private readonly retry: RetryPolicy;
  private readonly heartbeatTimeout: number;
  private readonly fromSeq: number;
  private readonly createTransport: (url: string) => Transport;
  private readonly outgoing: PendingSend[] = [];
  private readonly stopController = new AbortController();

  private currentState: ReconnectingStreamState = 'idle';
  private reader: ResumableReader<TMessage> | undefined;
  private transport: Transport | undefined;
  private connecting: Promise<void> | undefined;
  private settleConnect: ((error?: EnclaveError) => void) | undefined;
  private flushing = false;

  /** Validates the options; throws `CONFIGURATION_ERROR` when one is invalid or no `WebSocket` exists. */
  constructor(options: ReconnectingStreamOptions<TMessage>) {
    this.options = options;
    this.retry = resolveRetryPolicy(options.reconnect);
    this.heartbeatTimeout = options.heartbeatTimeout ?? RECONNECTING_STREAM_DEFAULTS.heartbeatTimeout;
    if (!(this.heartbeatTimeout >= 0)) {
      throw configurationError(`heartbeatTimeout must be ≥ 0, got ${this.heartbeatTimeout}`);
    }
    if (typeof options.url !== 'string' || options.url === '') {
      throw configurationError('url must be a non-empty string');
    }
    this.fromSeq = options.fromSeq ?? RECONNECTING_STREAM_DEFAULTS.fromSeq;
    const subscribe = validate(SubscribeMessageSchema, this.subscribeMessage(this.fromSeq));
    if (!subscribe.success) throw configurationError(`Invalid stream options: ${subscribe.message}`);
    if (options.createTransport !== undefined) {
      this.createTransport = options.createTransport;
    } else {
      const WebSocket = resolveWebSocketConstructor(options.WebSocket);
      const protocols = options.protocols;
      this.createTransport = (url) => new WebSocketTransport({ url, WebSocket, protocols });
    }
  }

  /** The current state. */
  get state(): ReconnectingStreamState {
    return this.currentState;
  }

  /** The last seq delivered to `onMessage` (`fromSeq − 1` before the first). */
  get lastSeq(): number {
    return this.reader?.lastSeq ?? this.fromSeq - 1;
  }

  /**
   * Opens the first connection and subscribes. Resolves once it is open; failed attempts before
   * that are retried with backoff, and it rejects with `RECONNECT_FAILED` when they run out (or
   * with the server's error for a non-retryable `stream_error`, or `CONNECTION_CLOSED` when
   * `close()` comes first). Calling it again returns the same promise.
   */
  connect(): Promise<void> {
    if (this.connecting !== undefined) return this.connecting;
    if (this.currentState === 'closed') {
      return Promise.reject(new EnclaveError('CONNECTION_CLOSED', 'The stream is closed; create a new one'));
    }
    this.connecting = new Promise<void>((resolve, reject) => {
      this.settleConnect = (error) => {
        this.settleConnect = undefined;
        if (error === undefined) resolve();
        else reject(error);
      };
    });
    this.setState('connecting');
    this.reader = resumable<TMessage>(
      subscribeOverTransport({
        createTransport: () => this.createTransport(this.options.url),
        subscribeMessage: (fromSeq) => this.subscribeMessage(fromSeq),
        onSubscribed: (transport) => this.opened(transport),
      }),
      {
        fromSeq: this.fromSeq,
        retry: this.retry,
        heartbeatTimeout: this.heartbeatTimeout,
        signal: this.stopController.signal,
        onDisconnect: () => {
          this.transport = undefined;
          this.setState('reconnecting');
        },
        onReconnect: (attempt, reason) => this.options.onReconnect?.(attempt, reason),
      },
    );
    void this.deliver(this.reader);
    return this.connecting;
  }

  /**
   * Sends a message to the server. While disconnected it is buffered and sent, in order, once the
   * next connection has subscribed; the promise resolves when it was handed to an open connection
   * (a message in flight when a connection drops may be lost). Rejects with `BAD_REQUEST` for a
   * value JSON cannot carry, and with the ending error (or `CONNECTION_CLOSED`) when the stream ends
   * before the message could be sent.
   */
  send(message: unknown): Promise<void> {
    if (this.currentState === 'closed') {
      return Promise.reject(new EnclaveError('CONNECTION_CLOSED', 'The stream is closed'));
    }
    return new Promise<void>((resolve, reject) => {
      this.outgoing.push({ message, resolve, reject });
      void this.flush();
    });
  }

  /** Ends the stream: stops reconnecting, closes the connection and fires `onClose` once. */
  async close(): Promise<void> {
    this.finish(undefined);
  }

  private subscribeMessage(fromSeq: number): SubscribeMessage {
    const message: SubscribeMessage = { type: 'subscribe', sessionId: this.options.sessionId, fromSeq };
    if (this.options.token !== undefined) message.token = this.options.token;
    return message;
  }

  private opened(transport: Transport): void {
    if (this.currentState === 'closed') return;
    this.transport = transport;
    this.setState('open');
    this.settleConnect?.();
    void this.flush();
  }

  /** Hands every event the reader yields to `onMessage`, then ends the stream the way the reader ended. */
  private async deliver(reader: ResumableReader<TMessage>): Promise<void> {
    try {
      for await (const batch of reader) {
        for (const message of batch) {
          if (this.currentState === 'closed') return;
          try {
            this.options.onMessage?.(message);
          } catch (error) {
            this.options.onError?.(toEnclaveError(error));
          }
        }
      }
      this.finish(undefined);
    } catch (error) {
      this.finish(toEnclaveError(error));
    }
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      for (;;) {
        const transport = this.transport;
        const next = this.outgoing[0];
        if (next === undefined || transport === undefined || this.currentState !== 'open') return;
        try {
          await transport.send(next.message);
        } catch (error) {
          const failure = toEnclaveError(error, 'CONNECTION_CLOSED');
          // A message JSON cannot carry will never go through; anything else waits for the next connection.
          if (failure.code !== 'BAD_REQUEST') return;
          this.outgoing.shift();
          next.reject(failure);
          continue;
        }
        this.outgoing.shift();
        next.resolve();
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Stops for good; `error` is why, or undefined for `final` and `close()`. */
  private finish(error: EnclaveError | undefined): void {
    if (this.currentState === 'closed') return;
    this.transport = undefined;
    this.setState('closed');
    this.stopController.abort();
    const ending =
      error ?? new EnclaveError('CONNECTION_CLOSED', 'The stream closed before this could complete');
    this.settleConnect?.(ending);
    for (const pending of this.outgoing.splice(0)) pending.reject(ending);
    if (error !== undefined) this.options.onError?.(error);
    this.options.onClose?.(error);
  }

  private setState(state: ReconnectingStreamState): void {
    const previous = this.currentState;
    if (previous === state) return;
    this.currentState = state;
    this.options.onStateChange?.(state, previous);
  }
}

function configurationError(message: string): EnclaveError {
  return new EnclaveError('CONFIGURATION_ERROR', message);
}
