import {
  type BrokerToRuntimeMessage,
  type Emitter,
  EnclaveError,
  type ExecuteMessage,
  type FinalPayload,
  type HelloMessage,
  type LoadMessage,
  type Logger,
  PROTOCOL_VERSION,
  type RuntimeEvent,
  type RuntimeToBrokerMessage,
  silentLogger,
  type ToolResultMessage,
  type Unsubscribe,
  type WireError,
} from '@enclave-vm/types';
import { WebSocket as NodeWebSocket } from 'ws';
import { bearerHeader } from '../channel/bearer-token.js';
import { parseRuntimeToBrokerMessage } from '../channel/channel-fast-path.js';
import { DEFAULT_MAX_MESSAGE_BYTES, decodeChannelMessage } from '../channel/channel-message.js';
import { endingEvents, SessionTally } from '../channel/session-tally.js';
import type {
  ExecutionEventListener,
  ExecutionHandle,
  ExecutionSpec,
  SessionExecutor,
  ToolOutcome,
} from '../executor/execution-types.js';
import {
  type RuntimeSocket,
  type RuntimeSocketConstructor,
  type RuntimeSocketEvent,
  SOCKET_OPEN,
} from './runtime-socket.js';

/** Options of {@link connectRuntime}. */
export interface ConnectRuntimeOptions {
  /** The worker's URL, e.g. `ws://127.0.0.1:3001`. */
  url: string;
  /** Shared secret sent as `Authorization: Bearer <authToken>`; required when the worker has one. */
  authToken?: string;
  /** WebSocket implementation. @default the `ws` package's `WebSocket` */
  WebSocket?: RuntimeSocketConstructor;
  /** Milliseconds to wait for the worker's `hello` before giving up with `RUNTIME_UNAVAILABLE`. @default 5000 */
  connectTimeout?: number;
  /** Milliseconds between liveness pings. @default 250 */
  pingInterval?: number;
  /**
   * Milliseconds a ping may stay unanswered before the worker is considered lost. With the default
   * interval, a worker that stops answering is detected within 1.25 s. @default 1000
   */
  pingTimeout?: number;
  /** Largest message sent, in bytes: a larger `execute` fails its session with `PAYLOAD_TOO_LARGE`, a larger tool result reaches the guest as `TOOL_RESULT_TOO_LARGE`. Match the worker's `maxMessageBytes`. @default 20 MiB */
  maxMessageBytes?: number;
  /** Where the connection reports problems. @default a logger that discards everything */
  logger?: Logger;
}

/** Why and how a {@link RuntimeConnection} closed. */
export interface RuntimeConnectionCloseInfo {
  /** True when `close()` was called on this side; false when the worker was lost or went away. */
  initiatedLocally: boolean;
  /** WebSocket close code (1006 for a dropped connection). */
  code: number;
  /** Close reason, when the worker gave one. */
  reason: string;
  /** What the sessions still in flight were ended with: `RUNTIME_DISCONNECTED`, or `SHUTTING_DOWN` for a local close. */
  error: EnclaveError;
  /** How many sessions were still in flight and were ended by the close. */
  endedSessions: number;
}

/** Listener signatures of {@link RuntimeConnection.on}. */
export interface RuntimeConnectionEventMap {
  /** The worker reported its load. */
  load: (load: LoadMessage) => void;
  /** The worker sent a channel `error`, or a message that does not follow the protocol. */
  error: (error: EnclaveError) => void;
  /** The connection closed, from either side; fires once. Reconnect (with backoff) from here. */
  close: (info: RuntimeConnectionCloseInfo) => void;
}

/**
 * A connection to one standalone runtime worker. It is a {@link SessionExecutor}, so a broker runs
 * sessions on it exactly as on the in-process pool; many sessions share the one WebSocket.
 */
export interface RuntimeConnection
  extends SessionExecutor,
    AsyncDisposable,
    Emitter<RuntimeConnectionEventMap> {
  /** The worker's URL. */
  readonly url: string;
  /** The worker's `hello`: its id, protocol version, capacity and pool size. */
  readonly hello: HelloMessage;
  /** The worker's latest load report (its sessions over all brokers). */
  readonly load: LoadMessage;
  /** Sessions the worker holds parked, from its latest load report (over all brokers; 0 until one says). */
  readonly parkedSessions: number;
  /** Whether sessions can be started on it. */
  readonly isOpen: boolean;
  /** Resolves once the connection has closed, from either side. */
  readonly closed: Promise<RuntimeConnectionCloseInfo>;
  /**
   * Measures a round trip to the worker in ms. Rejects with `HEARTBEAT_TIMEOUT` after
   * `pingTimeout` (and the connection is then considered lost) or `RUNTIME_DISCONNECTED` when closed.
   */
  ping(): Promise<number>;
  /**
   * Cancels every session in flight on the worker, ends them here with `error` + `final` and closes
   * the socket. Idempotent. The sessions end with `error` when given (a caller that knows the
   * worker is gone, such as a process pool that saw its process exit, passes `RUNTIME_DISCONNECTED`),
   * otherwise with `SHUTTING_DOWN`.
   */
  close(error?: EnclaveError): Promise<void>;
}

/**
 * Connects to a standalone runtime worker and resolves once its `hello` has arrived. Rejects with
 * `UNAUTHORIZED` when the worker refuses the token, `PROTOCOL_VERSION_MISMATCH` when it speaks
 * another major protocol version, and `RUNTIME_UNAVAILABLE` when it cannot be reached.
 *
 * @example
 * const runtime = await connectRuntime({ url: 'ws://127.0.0.1:3001' });
 * const handle = runtime.execute({ sessionId: 'ses_1', code: 'return 1 + 2', limits }, console.log);
 * await handle.done; // { ok: true, result: 3, stats }
 */
export async function connectRuntime(options: ConnectRuntimeOptions): Promise<RuntimeConnection> {
  const settings = resolveConnectOptions(options);
  const headers =
    options.authToken === undefined ? undefined : { authorization: bearerHeader(options.authToken) };
  let socket: RuntimeSocket;
  try {
    socket =
      options.WebSocket === undefined
        ? // Messages are small and latency-bound: compression would only cost time.
          (new NodeWebSocket(options.url, {
            perMessageDeflate: false,
            ...(headers === undefined ? {} : { headers }),
          }) as unknown as RuntimeSocket)
        : new options.WebSocket(options.url, headers === undefined ? undefined : { headers });
  } catch (error) {
    throw new EnclaveError('CONFIGURATION_ERROR', `Cannot connect to ${options.url}: ${String(error)}`, {
      cause: error,
    });
  }
  const connection = new RemoteRuntimeConnection(
    socket,
    options.url,
    settings,
    options.logger ?? silentLogger,
  );
  await connection.ready;
  return connection;
}

interface ConnectionSettings {
  connectTimeout: number;
  pingInterval: number;
  pingTimeout: number;
  maxMessageBytes: number;
}

function resolveConnectOptions(options: ConnectRuntimeOptions): ConnectionSettings {
  if (typeof options.url !== 'string' || !/^wss?:\/\//i.test(options.url)) {
    throw new EnclaveError(
      'CONFIGURATION_ERROR',
      `url must be a ws:// or wss:// URL, got ${String(options.url)}`,
    );
  }
  if (options.authToken !== undefined && options.authToken.length === 0) {
    throw new EnclaveError('CONFIGURATION_ERROR', 'authToken must not be empty');
  }
  const settings: ConnectionSettings = {
    connectTimeout: options.connectTimeout ?? 5_000,
    pingInterval: options.pingInterval ?? 250,
    pingTimeout: options.pingTimeout ?? 1_000,
    maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
  };
  for (const [name, value] of Object.entries(settings)) {
    if (!Number.isInteger(value) || value <= 0) {
      throw new EnclaveError(
        'CONFIGURATION_ERROR',
        `${name} must be a positive integer, got ${String(value)}`,
      );
    }
  }
  return settings;
}

/** A session started on this connection whose `final` has not arrived yet. */
interface RemoteSession {
  readonly sessionId: string;
  readonly onEvent: ExecutionEventListener;
  readonly tally: SessionTally;
  readonly pendingCalls: Set<string>;
  readonly answeredCalls: Set<string>;
  readonly resolveDone: (payload: FinalPayload) => void;
  ended: boolean;
}

interface PendingPing {
  readonly sentAt: number;
  readonly resolve: (roundTripMs: number) => void;
  readonly reject: (error: EnclaveError) => void;
  readonly timer: NodeJS.Timeout;
}

type ConnectionState = 'connecting' | 'open' | 'closing' | 'closed';

type ListenerSets = { [Name in keyof RuntimeConnectionEventMap]: Set<RuntimeConnectionEventMap[Name]> };

const NORMAL_CLOSURE = 1000;
const ABNORMAL_CLOSURE = 1006;
const FORCE_CLOSE_AFTER_MS = 1_000;

class RemoteRuntimeConnection implements RuntimeConnection {
  readonly ready: Promise<void>;
  readonly closed: Promise<RuntimeConnectionCloseInfo>;
  private state: ConnectionState = 'connecting';
  private helloMessage: HelloMessage | undefined;
  private latestLoad: LoadMessage | undefined;
  private readonly sessions = new Map<string, RemoteSession>();
  private readonly pendingPings = new Map<number, PendingPing>();
  private readonly listeners: ListenerSets = { load: new Set(), error: new Set(), close: new Set() };
  private nextPingId = 1;
  private automaticPingOutstanding = false;
  private pingTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private lastSocketError: string | undefined;
  /** Set by close(): how to report the close once the socket has closed. */
  private pendingCloseInfo:
    | Pick<RuntimeConnectionCloseInfo, 'initiatedLocally' | 'error' | 'endedSessions'>
    | undefined;
  private resolveReady!: () => void;
  private rejectReady!: (error: EnclaveError) => void;
  private resolveClosed!: (info: RuntimeConnectionCloseInfo) => void;

  constructor(
    private readonly socket: RuntimeSocket,
    readonly url: string,
    private readonly settings: ConnectionSettings,
    private readonly logger: Logger,
  ) {
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.connectTimer = setTimeout(() => {
      this.failToConnect(
        new EnclaveError(
          'RUNTIME_UNAVAILABLE',
          `No hello from the runtime worker at ${url} within ${settings.connectTimeout} ms`,
        ),
      );
    }, settings.connectTimeout);
    socket.addEventListener('message', (event) => this.handleFrame(event.data));
    socket.addEventListener('error', (event) => {
      this.lastSocketError = event.message ?? 'WebSocket error';
      this.logger.debug('Runtime connection error', { url, error: this.lastSocketError });
    });
    socket.addEventListener('close', (event) => this.handleSocketClose(event));
  }

  get hello(): HelloMessage {
    // `ready` resolves only after hello, and connectRuntime hands the connection out only then.
    return this.helloMessage as HelloMessage;
  }

  get load(): LoadMessage {
    return (
      this.latestLoad ?? {
        type: 'load',
        activeSessions: 0,
        maxSessions: this.hello.maxSessions,
        poolSize: this.hello.poolSize,
      }
    );
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  /** Sessions the worker holds parked, as its latest `load` message says (over all its brokers). */
  get parkedSessions(): number {
    return this.latestLoad?.parkedSessions ?? 0;
  }

  on<Name extends keyof RuntimeConnectionEventMap>(
    name: Name,
    listener: RuntimeConnectionEventMap[Name],
  ): Unsubscribe {
    const set = this.listeners[name] as Set<RuntimeConnectionEventMap[Name]>;
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  execute(spec: ExecutionSpec, onEvent: ExecutionEventListener): ExecutionHandle {
    if (this.sessions.has(spec.sessionId)) {
      throw new EnclaveError(
        'VALIDATION_ERROR',
        `Session ${spec.sessionId} is already running on this runtime`,
      );
    }
    let resolveDone!: (payload: FinalPayload) => void;
    const done = new Promise<FinalPayload>((resolve) => {
      resolveDone = resolve;
    });
    const session: RemoteSession = {
      sessionId: spec.sessionId,
      onEvent,
      tally: new SessionTally(),
      pendingCalls: new Set(),
      answeredCalls: new Set(),
      resolveDone,
      ended: false,
    };
    this.sessions.set(spec.sessionId, session);
    const handle: ExecutionHandle = {
      sessionId: spec.sessionId,
      done,
      submitToolResult: (callId, outcome) => this.submitToolResult(session, callId, outcome),
      cancel: (reason) => this.cancel(session, reason),
    };
    const failure = this.sendExecute(spec);
    // Events never arrive before execute() returns, failures included.
    if (failure !== undefined) queueMicrotask(() => this.endSession(session, failure));
    return handle;
  }

  ping(): Promise<number> {
    if (this.state !== 'open') {
      return Promise.reject(new EnclaveError('RUNTIME_DISCONNECTED', 'The runtime connection is closed'));
    }
    const id = this.nextPingId++;
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingPings.delete(id);
        const error = new EnclaveError(
          'HEARTBEAT_TIMEOUT',
          `The runtime worker did not answer a ping within ${this.settings.pingTimeout} ms`,
        );
        reject(error);
        this.lose(error, ABNORMAL_CLOSURE, 'ping timeout');
      }, this.settings.pingTimeout);
      timer.unref();
      this.pendingPings.set(id, { sentAt: performance.now(), resolve, reject, timer });
      this.send({ type: 'ping', id, ts: Date.now() });
    });
  }

  async close(
    error = new EnclaveError('SHUTTING_DOWN', 'The broker closed its connection to the runtime worker'),
  ): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') {
      await this.closed;
      return;
    }
    this.state = 'closing';
    for (const session of [...this.sessions.values()]) {
      this.send({ type: 'cancel', sessionId: session.sessionId, reason: error.message });
    }
    const endedSessions = this.endAllSessions(error);
    this.pendingCloseInfo = { initiatedLocally: true, error, endedSessions };
    this.socket.close(NORMAL_CLOSURE, 'closed by the broker');
    const forceTimer = setTimeout(() => this.terminateSocket(), FORCE_CLOSE_AFTER_MS);
    forceTimer.unref();
    await this.closed;
    clearTimeout(forceTimer);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private sendExecute(spec: ExecutionSpec): WireError | undefined {
    if (this.state !== 'open') {
      return {
        code: 'RUNTIME_DISCONNECTED',
        message: `The connection to the runtime worker at ${this.url} is closed`,
      };
    }
    const message: ExecuteMessage = {
      type: 'execute',
      sessionId: spec.sessionId,
      code: spec.code,
      limits: spec.limits,
      ...(spec.context === undefined ? {} : { context: spec.context }),
    };
    let text: string;
    try {
      text = JSON.stringify(message);
    } catch (error) {
      return {
        code: 'VALIDATION_ERROR',
        message: `The session's context is not JSON-serializable: ${String(error)}`,
      };
    }
    const size = Buffer.byteLength(text, 'utf8');
    if (size > this.settings.maxMessageBytes) {
      return {
        code: 'PAYLOAD_TOO_LARGE',
        message: `The execute message is ${size} bytes, more than the ${this.settings.maxMessageBytes} bytes a runtime message may have`,
      };
    }
    this.socket.send(text);
    return undefined;
  }

  private submitToolResult(session: RemoteSession, callId: string, outcome: ToolOutcome): void {
    if (session.ended) {
      throw new EnclaveError('SESSION_ENDED', `Session ${session.sessionId} has already ended`);
    }
    if (session.answeredCalls.has(callId)) {
      throw new EnclaveError('TOOL_CALL_ALREADY_ANSWERED', `Tool call ${callId} already has a result`);
    }
    if (!session.pendingCalls.has(callId)) {
      throw new EnclaveError(
        'TOOL_CALL_NOT_FOUND',
        `Session ${session.sessionId} has no pending tool call ${callId}`,
      );
    }
    session.pendingCalls.delete(callId);
    session.answeredCalls.add(callId);
    const base = { type: 'tool_result' as const, sessionId: session.sessionId, callId };
    const message: ToolResultMessage = outcome.ok
      ? { ...base, ok: true, result: outcome.result }
      : { ...base, ok: false, error: outcome.error };
    let text: string;
    try {
      text = JSON.stringify(message);
    } catch (error) {
      text = JSON.stringify({
        ...base,
        ok: false,
        error: { code: 'TOOL_ERROR', message: `The tool result is not JSON-serializable: ${String(error)}` },
      } satisfies ToolResultMessage);
    }
    // UTF-8 takes at most 3 bytes per UTF-16 unit: most results need no byte count at all.
    const size = text.length * 3 <= this.settings.maxMessageBytes ? 0 : Buffer.byteLength(text, 'utf8');
    if (size > this.settings.maxMessageBytes) {
      // The guest learns that its result was too large instead of waiting for a message the worker
      // would refuse.
      text = JSON.stringify({
        ...base,
        ok: false,
        error: {
          code: 'TOOL_RESULT_TOO_LARGE',
          message: `The tool result is ${size} bytes, more than the ${this.settings.maxMessageBytes} bytes a runtime message may have`,
        },
      } satisfies ToolResultMessage);
    }
    if (this.state === 'open') this.socket.send(text);
  }

  private cancel(session: RemoteSession, reason: string | undefined): void {
    if (session.ended || this.state !== 'open') return;
    this.send({
      type: 'cancel',
      sessionId: session.sessionId,
      ...(reason === undefined ? {} : { reason: reason.slice(0, 1000) }),
    });
  }

  private handleFrame(data: unknown): void {
    if (this.state === 'closed') return;
    const decoded = decodeChannelMessage(data, parseRuntimeToBrokerMessage, this.settings.maxMessageBytes);
    if (!decoded.ok) {
      const error = new EnclaveError('PROTOCOL_ERROR', `The runtime worker sent ${decoded.problem.message}`, {
        details: decoded.problem.details,
      });
      this.logger.warn('Invalid message from the runtime worker', { url: this.url, error: error.message });
      if (this.state === 'connecting') this.failToConnect(error);
      else this.emit('error', error);
      return;
    }
    this.handleMessage(decoded.message);
  }

  private handleMessage(message: RuntimeToBrokerMessage): void {
    if (this.state === 'connecting') {
      this.handleHandshake(message);
      return;
    }
    switch (message.type) {
      case 'hello':
        this.logger.debug('Ignored a repeated hello', { url: this.url });
        return;
      case 'load':
        this.latestLoad = message;
        this.emit('load', message);
        return;
      case 'events':
        this.deliverEvents(message.sessionId, message.events);
        return;
      case 'error':
        this.handleChannelError(message);
        return;
      case 'ping':
        this.send({ type: 'pong', id: message.id, ts: message.ts });
        return;
      case 'pong': {
        const pending = this.pendingPings.get(message.id);
        if (pending === undefined) return;
        this.pendingPings.delete(message.id);
        clearTimeout(pending.timer);
        pending.resolve(performance.now() - pending.sentAt);
        return;
      }
    }
  }

  private handleHandshake(message: RuntimeToBrokerMessage): void {
    if (message.type !== 'hello') {
      this.failToConnect(
        new EnclaveError('PROTOCOL_ERROR', `The runtime worker sent ${message.type} before hello`),
      );
      return;
    }
    if (majorOf(message.protocolVersion) !== majorOf(PROTOCOL_VERSION)) {
      this.failToConnect(
        new EnclaveError(
          'PROTOCOL_VERSION_MISMATCH',
          `The runtime worker speaks protocol ${message.protocolVersion}; this broker speaks ${PROTOCOL_VERSION}`,
        ),
      );
      return;
    }
    clearTimeout(this.connectTimer);
    this.helloMessage = message;
    this.state = 'open';
    this.pingTimer = setInterval(() => this.automaticPing(), this.settings.pingInterval);
    this.pingTimer.unref();
    this.resolveReady();
  }

  private automaticPing(): void {
    if (this.automaticPingOutstanding || this.state !== 'open') return;
    this.automaticPingOutstanding = true;
    this.ping().then(
      () => {
        this.automaticPingOutstanding = false;
      },
      () => {
        this.automaticPingOutstanding = false;
      },
    );
  }

  private deliverEvents(sessionId: string, events: RuntimeEvent[]): void {
    const session = this.sessions.get(sessionId);
    if (session === undefined) {
      this.logger.debug('Events for a session not in flight', { url: this.url, sessionId });
      return;
    }
    for (const event of events) {
      if (event.type === 'tool_call') session.pendingCalls.add(event.payload.callId);
      if (event.type === 'final') {
        this.finishSession(session, event);
        return;
      }
      session.tally.observe(event);
      this.notify(session, event);
    }
  }

  private handleChannelError(message: Extract<RuntimeToBrokerMessage, { type: 'error' }>): void {
    const error = new EnclaveError(message.code, message.message, {
      details:
        message.sessionId === undefined
          ? message.details
          : { sessionId: message.sessionId, ...asRecord(message.details) },
    });
    this.logger.warn('The runtime worker reported an error', {
      url: this.url,
      code: message.code,
      error: message.message,
    });
    const session = message.sessionId === undefined ? undefined : this.sessions.get(message.sessionId);
    // The worker forgets a session only after sending its final, so "not found" for a session still
    // in flight here means the worker never started it: end it rather than wait forever.
    if (session !== undefined && message.code === 'SESSION_NOT_FOUND') {
      this.endSession(session, {
        code: 'INTERNAL_ERROR',
        message: `The runtime worker has no record of session ${session.sessionId}: ${message.message}`,
      });
    }
    this.emit('error', error);
  }

  /** Ends a session from this side with `error` + `final`. */
  private endSession(session: RemoteSession, error: WireError): void {
    if (session.ended) return;
    const [errorEvent, finalEvent] = endingEvents(error, session.tally.stats());
    this.notify(session, errorEvent);
    this.finishSession(session, finalEvent);
  }

  private finishSession(session: RemoteSession, finalEvent: Extract<RuntimeEvent, { type: 'final' }>): void {
    if (session.ended) return;
    session.ended = true;
    if (this.sessions.get(session.sessionId) === session) this.sessions.delete(session.sessionId);
    this.notify(session, finalEvent);
    session.resolveDone(finalEvent.payload);
  }

  private endAllSessions(error: EnclaveError): number {
    const sessions = [...this.sessions.values()];
    for (const session of sessions) this.endSession(session, error.toWire());
    return sessions.length;
  }

  private notify(session: RemoteSession, event: RuntimeEvent): void {
    try {
      session.onEvent(event);
    } catch (error) {
      this.logger.error('A session event listener threw', {
        sessionId: session.sessionId,
        error: String(error),
      });
    }
  }

  private handleSocketClose(event: RuntimeSocketEvent): void {
    const code = event.code ?? ABNORMAL_CLOSURE;
    const reason = typeof event.reason === 'string' ? event.reason : (event.reason?.toString('utf8') ?? '');
    if (this.state === 'connecting') {
      this.failToConnect(connectionRefusal(this.url, this.lastSocketError, code));
      return;
    }
    const local = this.pendingCloseInfo;
    if (local !== undefined) {
      this.finish({ ...local, code, reason });
      return;
    }
    this.lose(
      new EnclaveError(
        'RUNTIME_DISCONNECTED',
        `Lost the runtime worker at ${this.url} (close code ${code}${reason ? `: ${reason}` : ''})`,
      ),
      code,
      reason,
    );
  }

  /** The worker is gone: end every session in flight with `RUNTIME_DISCONNECTED`. */
  private lose(cause: EnclaveError, code: number, reason: string): void {
    if (this.state === 'closed' || this.state === 'closing') return;
    this.state = 'closing';
    const error =
      cause.code === 'RUNTIME_DISCONNECTED'
        ? cause
        : new EnclaveError(
            'RUNTIME_DISCONNECTED',
            `Lost the runtime worker at ${this.url}: ${cause.message}`,
            { cause },
          );
    const endedSessions = this.endAllSessions(error);
    this.logger.warn('Lost the runtime worker', { url: this.url, code, reason, endedSessions });
    this.terminateSocket();
    this.finish({ initiatedLocally: false, code, reason, error, endedSessions });
  }

  private finish(info: RuntimeConnectionCloseInfo): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearInterval(this.pingTimer);
    clearTimeout(this.connectTimer);
    for (const pending of this.pendingPings.values()) {
      clearTimeout(pending.timer);
      pending.reject(new EnclaveError('RUNTIME_DISCONNECTED', 'The runtime connection closed'));
    }
    this.pendingPings.clear();
    this.resolveClosed(info);
    this.emit('close', info);
  }

  private failToConnect(error: EnclaveError): void {
    if (this.state !== 'connecting') return;
    this.state = 'closed';
    clearTimeout(this.connectTimer);
    this.terminateSocket();
    this.rejectReady(error);
    this.resolveClosed({
      initiatedLocally: false,
      code: ABNORMAL_CLOSURE,
      reason: error.message,
      error,
      endedSessions: 0,
    });
  }

  private terminateSocket(): void {
    if (this.socket.terminate !== undefined) this.socket.terminate();
    else this.socket.close();
  }

  private send(message: BrokerToRuntimeMessage): void {
    if (this.socket.readyState !== SOCKET_OPEN) return;
    this.socket.send(JSON.stringify(message));
  }

  private emit<Name extends keyof RuntimeConnectionEventMap>(
    name: Name,
    ...values: Parameters<RuntimeConnectionEventMap[Name]>
  ): void {
    for (const listener of [...this.listeners[name]]) {
      try {
        (listener as (...args: Parameters<RuntimeConnectionEventMap[Name]>) => void)(...values);
      } catch (error) {
        this.logger.error(`A ${name} listener threw`, { error: String(error) });
      }
    }
  }
}

function majorOf(version: string): string {
  return version.split('.')[0] ?? version;
}

function asRecord(value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : { details: value };
}

function connectionRefusal(url: string, socketError: string | undefined, code: number): EnclaveError {
  if (socketError !== undefined && /\b401\b/.test(socketError)) {
    return new EnclaveError(
      'UNAUTHORIZED',
      `The runtime worker at ${url} refused the credentials (HTTP 401)`,
    );
  }
  return new EnclaveError(
    'RUNTIME_UNAVAILABLE',
    `Cannot connect to the runtime worker at ${url}: ${socketError ?? `closed with code ${code}`}`,
  );
}
