import {
  EnclaveError,
  getErrorCodeInfo,
  StreamErrorMessageSchema,
  type SubscribeMessage,
  SubscribeMessageSchema,
  toEnclaveError,
  validate,
  type WireEvent,
} from '@enclave-vm/types';
import type { Transport } from '../transport/transport.js';
import { resolveWebSocketConstructor, type WebSocketConstructor } from '../transport/web-socket-like.js';
import { WebSocketTransport } from '../transport/web-socket-transport.js';
import {
  type BackoffOptions,
  computeBackoffDelay,
  DEFAULT_BACKOFF_OPTIONS,
} from './compute-backoff-delay.js';
import { SequenceTracker } from './sequence-tracker.js';

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

/** The smallest shape of an event the stream can order: a positive integer `seq` and a `type`. */
export interface SequencedMessage {
  /** Position in the session's stream, from 1. */
  seq: number;
  /** Event type; `final` ends the stream. */
  type: string;
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
   * The `WebSocket` class. Node 20 has no global one: pass `WebSocket` from the `ws` package.
   * @default globalThis.WebSocket
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

/** Defaults of {@link ReconnectOptions} and the heartbeat timeout. */
export const RECONNECTING_STREAM_DEFAULTS = Object.freeze({
  maxAttempts: 10,
  ...DEFAULT_BACKOFF_OPTIONS,
  heartbeatTimeout: 60_000,
  fromSeq: 1,
});

/**
 * Follows one session's event stream over a WebSocket and survives connection loss: after a drop it
 * reconnects with exponential backoff and resubscribes from the first seq it has not delivered, so
 * every event reaches `onMessage` exactly once and in order. It ends after delivering `final`, on
 * `close()`, on a non-retryable `stream_error` from the server, or after `maxAttempts` consecutive
 * failed attempts (`RECONNECT_FAILED`).
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
  private readonly backoff: BackoffOptions;
  private readonly maxAttempts: number;
  private readonly heartbeatTimeout: number;
  private readonly createTransport: (url: string) => Transport;
  private readonly tracker: SequenceTracker;
  private readonly outgoing: PendingSend[] = [];

  private currentState: ReconnectingStreamState = 'idle';
  private transport: Transport | undefined;
  private failedAttempts = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setTimeout> | undefined;
  private connecting: Promise<void> | undefined;
  private settleConnect: ((error?: EnclaveError) => void) | undefined;
  private flushing = false;

  /** Validates the options; throws `CONFIGURATION_ERROR` when one is invalid or no `WebSocket` exists. */
  constructor(options: ReconnectingStreamOptions<TMessage>) {
    this.options = options;
    const reconnect = options.reconnect ?? {};
    this.backoff = {
      initialDelay: reconnect.initialDelay ?? RECONNECTING_STREAM_DEFAULTS.initialDelay,
      maxDelay: reconnect.maxDelay ?? RECONNECTING_STREAM_DEFAULTS.maxDelay,
      backoffMultiplier: reconnect.backoffMultiplier ?? RECONNECTING_STREAM_DEFAULTS.backoffMultiplier,
      jitter: reconnect.jitter ?? RECONNECTING_STREAM_DEFAULTS.jitter,
    };
    // Computing one delay validates the backoff options now rather than at the first drop.
    computeBackoffDelay(1, this.backoff);
    this.maxAttempts = reconnect.maxAttempts ?? RECONNECTING_STREAM_DEFAULTS.maxAttempts;
    if (
      !(this.maxAttempts >= 0) ||
      (Number.isFinite(this.maxAttempts) && !Number.isInteger(this.maxAttempts))
    ) {
      throw configurationError(
        `reconnect.maxAttempts must be an integer ≥ 0 or Infinity, got ${this.maxAttempts}`,
      );
    }
    this.heartbeatTimeout = options.heartbeatTimeout ?? RECONNECTING_STREAM_DEFAULTS.heartbeatTimeout;
    if (!(this.heartbeatTimeout >= 0)) {
      throw configurationError(`heartbeatTimeout must be ≥ 0, got ${this.heartbeatTimeout}`);
    }
    if (typeof options.url !== 'string' || options.url === '') {
      throw configurationError('url must be a non-empty string');
    }
    const fromSeq = options.fromSeq ?? RECONNECTING_STREAM_DEFAULTS.fromSeq;
    const subscribe = validate(SubscribeMessageSchema, this.subscribeMessage(fromSeq));
    if (!subscribe.success) throw configurationError(`Invalid stream options: ${subscribe.message}`);
    this.tracker = new SequenceTracker(fromSeq - 1);
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
    return this.tracker.lastSeq;
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
    this.openConnection();
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

  private openConnection(): void {
    let transport: Transport;
    try {
      transport = this.createTransport(this.options.url);
    } catch (error) {
      this.finish(toEnclaveError(error, 'CONFIGURATION_ERROR'));
      return;
    }
    this.transport = transport;
    transport.onmessage = (message) => {
      if (this.transport === transport) this.handleMessage(transport, message);
    };
    transport.onerror = (error) => {
      if (this.transport === transport)
        this.connectionLost(transport, toEnclaveError(error, 'CONNECTION_CLOSED'));
    };
    transport.onclose = () => {
      if (this.transport === transport) {
        this.connectionLost(transport, new EnclaveError('CONNECTION_CLOSED', 'The connection closed'));
      }
    };
    this.armHeartbeat(transport);
    transport.start().then(
      () => this.subscribe(transport),
      (error: unknown) => this.connectionLost(transport, toEnclaveError(error, 'CONNECTION_CLOSED')),
    );
  }

  private async subscribe(transport: Transport): Promise<void> {
    if (this.transport !== transport) return;
    try {
      await transport.send(this.subscribeMessage(this.tracker.nextSeq));
    } catch (error) {
      this.connectionLost(transport, toEnclaveError(error, 'CONNECTION_CLOSED'));
      return;
    }
    if (this.transport !== transport) return;
    this.setState('open');
    this.settleConnect?.();
    void this.flush();
  }

  private handleMessage(transport: Transport, message: unknown): void {
    this.armHeartbeat(transport);
    if (typeof message !== 'object' || message === null) {
      this.connectionLost(
        transport,
        new EnclaveError('PROTOCOL_ERROR', 'Received a frame that is not an object'),
      );
      return;
    }
    const fields = message as { type?: unknown; seq?: unknown };
    if (fields.type === 'stream_error') {
      this.handleStreamError(transport, message);
      return;
    }
    const seq = fields.seq;
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1 || typeof fields.type !== 'string') {
      this.connectionLost(
        transport,
        new EnclaveError('PROTOCOL_ERROR', 'Received a frame without a positive integer seq and a type'),
      );
      return;
    }
    const position = this.tracker.check(seq);
    if (position === 'duplicate') return;
    if (position === 'gap') {
      this.connectionLost(
        transport,
        new EnclaveError(
          'PROTOCOL_ERROR',
          `Expected seq ${this.tracker.nextSeq}, received ${seq}; resubscribing`,
        ),
      );
      return;
    }
    this.tracker.advance(seq);
    this.failedAttempts = 0;
    try {
      this.options.onMessage?.(message as TMessage);
    } catch (error) {
      this.options.onError?.(toEnclaveError(error));
    }
    if (fields.type === 'final') this.finish(undefined);
  }

  private handleStreamError(transport: Transport, message: object): void {
    const parsed = validate(StreamErrorMessageSchema, message);
    if (!parsed.success) {
      this.connectionLost(
        transport,
        new EnclaveError('PROTOCOL_ERROR', `Invalid stream_error: ${parsed.message}`),
      );
      return;
    }
    const error = new EnclaveError(parsed.data.code, parsed.data.message);
    if (getErrorCodeInfo(parsed.data.code).retryable) this.connectionLost(transport, error);
    else this.finish(error);
  }

  /** Drops a connection that failed and schedules the next attempt, or gives up. */
  private connectionLost(transport: Transport, reason: EnclaveError): void {
    if (this.transport !== transport || this.currentState === 'closed') return;
    this.abandonTransport();
    this.failedAttempts++;
    if (this.failedAttempts > this.maxAttempts) {
      const tried = this.maxAttempts === 1 ? '1 attempt' : `${this.maxAttempts} attempts`;
      this.finish(
        new EnclaveError('RECONNECT_FAILED', `Gave up reconnecting after ${tried}: ${reason.message}`, {
          cause: reason,
        }),
      );
      return;
    }
    const attempt = this.failedAttempts;
    this.setState('reconnecting');
    this.reconnectTimer = setTimeout(
      () => {
        this.reconnectTimer = undefined;
        this.options.onReconnect?.(attempt, reason);
        // onReconnect may have closed the stream.
        if (!this.isClosed()) this.openConnection();
      },
      computeBackoffDelay(attempt, this.backoff),
    );
  }

  private armHeartbeat(transport: Transport): void {
    if (this.heartbeatTimeout === 0) return;
    if (this.heartbeatTimer !== undefined) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = setTimeout(() => {
      this.heartbeatTimer = undefined;
      this.connectionLost(
        transport,
        new EnclaveError('HEARTBEAT_TIMEOUT', `No message within ${this.heartbeatTimeout} ms`),
      );
    }, this.heartbeatTimeout);
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
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.abandonTransport();
    this.setState('closed');
    const ending =
      error ?? new EnclaveError('CONNECTION_CLOSED', 'The stream closed before this could complete');
    this.settleConnect?.(ending);
    for (const pending of this.outgoing.splice(0)) pending.reject(ending);
    if (error !== undefined) this.options.onError?.(error);
    this.options.onClose?.(error);
  }

  private abandonTransport(): void {
    if (this.heartbeatTimer !== undefined) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    const transport = this.transport;
    if (transport === undefined) return;
    this.transport = undefined;
    // The old connection is not waited for: a dead peer can hold a closing handshake for long.
    transport.close().catch(() => undefined);
  }

  private isClosed(): boolean {
    return this.currentState === 'closed';
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
