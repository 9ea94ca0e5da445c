import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import type { Duplex } from 'node:stream';
import {
  EnclaveError,
  type LoadMessage,
  type Logger,
  PROTOCOL_VERSION,
  silentLogger,
  toEnclaveError,
  type WireError,
} from '@enclave-vm/types';
import { WebSocketServer } from 'ws';
import { isAuthorizedBearer } from '../channel/bearer-token.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../channel/channel-message.js';
import type { SessionExecutor } from '../executor/execution-types.js';
import { createSandboxPool } from '../pool/sandbox-pool.js';
import { WorkerConnection } from './worker-connection.js';

/** Options of {@link createRuntimeWorker}. */
export interface RuntimeWorkerOptions {
  /** TCP port to listen on; `0` picks a free one (see the address `start()` resolves with). @default 3001 */
  port?: number;
  /** Interface to listen on. Use `0.0.0.0` to accept other hosts, ideally with `authToken`. @default '127.0.0.1' */
  host?: string;
  /** Sessions the worker runs at once, over all connections; beyond it `execute` is answered with `RUNTIME_UNAVAILABLE`. @default 100 */
  maxSessions?: number;
  /** Worker threads of the sandbox pool the worker creates (ignored for running when `executor` is given, but still announced). @default os.availableParallelism() */
  poolSize?: number;
  /** Shared secret: when set, a connection must send `Authorization: Bearer <authToken>` or is refused with HTTP 401. */
  authToken?: string;
  /** Runs the sessions instead of a sandbox pool created by the worker. The worker does not close an executor it was given. @default createSandboxPool({ size: poolSize, parkAfterMs }) */
  executor?: SessionExecutor;
  /**
   * Milliseconds a session of the sandbox pool the worker creates waits on its tool calls before it
   * is parked (its memory compressed, its engine instance freed until the next result);
   * `Infinity` never parks. Not with `executor`, which is configured where it is made.
   * @default 1000
   */
  parkAfterMs?: number;
  /** Milliseconds between periodic `load` messages (they are also sent on every change). @default 5000 */
  loadReportInterval?: number;
  /** Largest incoming message in bytes; a larger one is answered with `PROTOCOL_ERROR` (and above four times this size the connection is closed with code 1009). @default 20 MiB */
  maxMessageBytes?: number;
  /** Identifier announced in `hello`. @default `runtime-` followed by a random id */
  workerId?: string;
  /** Where the worker reports what it does. @default a logger that discards everything */
  logger?: Logger;
}

/** Where a started worker listens. */
export interface RuntimeWorkerAddress {
  /** The interface it is bound to. */
  host: string;
  /** The bound port (the chosen one when `port` was 0). */
  port: number;
  /** The URL a broker connects to, e.g. `ws://127.0.0.1:3001`. */
  url: string;
}

/** A standalone runtime worker: a WebSocket server that runs sessions for brokers. */
export interface RuntimeWorker extends AsyncDisposable {
  /** The identifier announced to brokers in `hello`. */
  readonly workerId: string;
  /** Sessions started and not yet ended, over all connections. */
  readonly activeSessions: number;
  /** Of those, the sessions parked right now (0 when the executor does not say). */
  readonly parkedSessions: number;
  /** Open broker connections. */
  readonly connections: number;
  /** Where the worker listens, once started. */
  readonly address: RuntimeWorkerAddress | undefined;
  /**
   * Starts listening. Resolves with the bound address; rejects with `CONFIGURATION_ERROR` when the
   * address cannot be bound or the worker was already started.
   */
  start(): Promise<RuntimeWorkerAddress>;
  /**
   * Stops the worker: ends every running session with `error` + `final` (code `SHUTTING_DOWN`) and
   * sends them, closes every connection and the sandbox pool it created. Idempotent.
   */
  stop(): Promise<void>;
}

/** Close code sent to brokers when the worker stops. */
const GOING_AWAY = 1001;

/**
 * How often the worker looks at how many sessions its pool holds parked, and reports a change in a
 * `load` message. Sessions park after `parkAfterMs` (a second by default), so a count is at most
 * this late.
 */
const PARKED_CHECK_INTERVAL_MS = 500;

/**
 * Creates a standalone runtime worker. Nothing is bound and no thread is started until `start()`.
 *
 * @example
 * const worker = createRuntimeWorker({ port: 3001 });
 * await worker.start();
 */
export function createRuntimeWorker(options: RuntimeWorkerOptions = {}): RuntimeWorker {
  const settings = resolveOptions(options);
  return new StandaloneRuntimeWorker(settings, options.executor, options.logger ?? silentLogger);
}

interface WorkerSettings {
  port: number;
  host: string;
  maxSessions: number;
  poolSize: number;
  authToken: string | undefined;
  loadReportInterval: number;
  maxMessageBytes: number;
  workerId: string;
  parkAfterMs: number | undefined;
}

function resolveOptions(options: RuntimeWorkerOptions): WorkerSettings {
  const settings: WorkerSettings = {
    port: options.port ?? 3001,
    host: options.host ?? '127.0.0.1',
    maxSessions: options.maxSessions ?? 100,
    poolSize: options.poolSize ?? availableParallelism(),
    authToken: options.authToken,
    loadReportInterval: options.loadReportInterval ?? 5_000,
    maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    workerId: options.workerId ?? `runtime-${randomUUID().slice(0, 8)}`,
    parkAfterMs: options.parkAfterMs,
  };
  if (!Number.isInteger(settings.port) || settings.port < 0 || settings.port > 65_535) {
    throw configurationError(`port must be an integer from 0 to 65535, got ${String(options.port)}`);
  }
  for (const name of ['maxSessions', 'poolSize', 'loadReportInterval', 'maxMessageBytes'] as const) {
    const value = settings[name];
    if (!Number.isInteger(value) || value <= 0) {
      throw configurationError(`${name} must be a positive integer, got ${String(options[name])}`);
    }
  }
  if (settings.authToken !== undefined && settings.authToken.length === 0) {
    throw configurationError('authToken must not be empty; leave it out to accept every connection');
  }
  if (settings.workerId.length === 0 || settings.workerId.length > 200) {
    throw configurationError('workerId must be 1-200 characters');
  }
  const { parkAfterMs } = settings;
  if (parkAfterMs !== undefined) {
    if (typeof parkAfterMs !== 'number' || Number.isNaN(parkAfterMs) || parkAfterMs < 0) {
      throw configurationError(
        `parkAfterMs must be a number of ms ≥ 0 (Infinity never parks), got ${String(parkAfterMs)}`,
      );
    }
    if (options.executor !== undefined) {
      throw configurationError(
        'parkAfterMs applies to the sandbox pool the worker creates; with executor, set it where the executor is made',
      );
    }
  }
  return settings;
}

function configurationError(message: string, cause?: unknown): EnclaveError {
  return new EnclaveError('CONFIGURATION_ERROR', message, { cause });
}

type WorkerState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

class StandaloneRuntimeWorker implements RuntimeWorker {
  private state: WorkerState = 'created';
  private server: Server | undefined;
  private webSocketServer: WebSocketServer | undefined;
  private executor: SessionExecutor | undefined;
  private readonly connectionSet = new Set<WorkerConnection>();
  private nextConnectionId = 1;
  private active = 0;
  private loadTimer: NodeJS.Timeout | undefined;
  private parkedTimer: NodeJS.Timeout | undefined;
  private loadChangeScheduled = false;
  private lastReportedLoad = -1;
  private lastReportedParked: number | undefined;
  private boundAddress: RuntimeWorkerAddress | undefined;
  private starting: Promise<RuntimeWorkerAddress> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly settings: WorkerSettings,
    private readonly injectedExecutor: SessionExecutor | undefined,
    private readonly logger: Logger,
  ) {}

  get workerId(): string {
    return this.settings.workerId;
  }

  get activeSessions(): number {
    return this.active;
  }

  get parkedSessions(): number {
    return this.executor?.parkedSessions ?? 0;
  }

  get connections(): number {
    return this.connectionSet.size;
  }

  get address(): RuntimeWorkerAddress | undefined {
    return this.boundAddress;
  }

  start(): Promise<RuntimeWorkerAddress> {
    if (this.state !== 'created') {
      return Promise.reject(
        configurationError(
          this.state === 'stopped' || this.state === 'stopping'
            ? 'This runtime worker was stopped; create a new one'
            : 'This runtime worker is already started',
        ),
      );
    }
    this.state = 'starting';
    this.starting = this.listen();
    return this.starting;
  }

  private async listen(): Promise<RuntimeWorkerAddress> {
    const { host, port, maxMessageBytes } = this.settings;
    const server = createServer((request, response) => this.handleRequest(request, response));
    // Above maxMessageBytes a message is answered with PROTOCOL_ERROR; far above it `ws` closes the
    // connection (1009) rather than buffering arbitrarily large frames.
    // No compression: messages are small and latency-bound (it is `ws`'s default, stated here so
    // that it stays so).
    const webSocketServer = new WebSocketServer({
      noServer: true,
      maxPayload: maxMessageBytes * 4,
      perMessageDeflate: false,
    });
    server.on('upgrade', (request, socket, head) => this.handleUpgrade(request, socket, head));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      this.state = 'stopped';
      webSocketServer.close();
      const reason = error instanceof Error ? error.message : String(error);
      throw configurationError(`Cannot listen on ${host}:${port}: ${reason}`, error);
    }
    server.on('error', (error) => this.logger.error('Server error', { error: error.message }));
    this.server = server;
    this.webSocketServer = webSocketServer;
    try {
      this.executor =
        this.injectedExecutor ??
        createSandboxPool({
          size: this.settings.poolSize,
          logger: this.logger,
          ...(this.settings.parkAfterMs === undefined ? {} : { parkAfterMs: this.settings.parkAfterMs }),
        });
    } catch (error) {
      this.state = 'stopped';
      webSocketServer.close();
      await new Promise((resolve) => server.close(resolve));
      throw toEnclaveError(error, 'CONFIGURATION_ERROR');
    }
    const bound = server.address() as AddressInfo;
    this.boundAddress = { host, port: bound.port, url: `ws://${formatHost(host)}:${bound.port}` };
    this.loadTimer = setInterval(() => this.broadcastLoad(), this.settings.loadReportInterval);
    this.loadTimer.unref();
    // Sessions park and wake up in the sandbox threads without a message to this thread: the count
    // is read here, and a change reported like a change of the active count.
    this.parkedTimer = setInterval(() => this.reportLoadIfChanged(), PARKED_CHECK_INTERVAL_MS);
    this.parkedTimer.unref();
    this.state = 'running';
    this.logger.info(`Listening on ${this.boundAddress.url}`, {
      workerId: this.workerId,
      maxSessions: this.settings.maxSessions,
      poolSize: this.settings.poolSize,
      authentication: this.settings.authToken === undefined ? 'none' : 'bearer',
    });
    return this.boundAddress;
  }

  stop(): Promise<void> {
    if (this.state === 'created') {
      this.state = 'stopped';
      return Promise.resolve();
    }
    if (this.stopping === undefined) this.stopping = this.shutDown();
    return this.stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  private async shutDown(): Promise<void> {
    // A stop() during start() waits for the listener to be bound, then tears it down.
    await this.starting?.catch(() => undefined);
    if (this.state === 'stopped') return;
    this.state = 'stopping';
    clearInterval(this.loadTimer);
    clearInterval(this.parkedTimer);
    const shuttingDown: WireError = { code: 'SHUTTING_DOWN', message: 'The runtime worker is shutting down' };
    // The pool this worker created ends its sessions itself with exact stats; whatever is left
    // (an injected executor's sessions, or events still in flight) is ended here.
    if (this.injectedExecutor === undefined && this.executor !== undefined) {
      try {
        await this.executor.close();
      } catch (error) {
        this.logger.error('Closing the sandbox pool failed', { error: String(error) });
      }
    }
    for (const connection of this.connectionSet) connection.endAllSessions(shuttingDown);
    await Promise.all(
      [...this.connectionSet].map((connection) => connection.close(GOING_AWAY, 'shutting down')),
    );
    this.webSocketServer?.close();
    const server = this.server;
    if (server !== undefined) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
    this.state = 'stopped';
    this.logger.info('Stopped', { workerId: this.workerId });
  }

  private handleRequest(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method === 'GET' && path === '/health') {
      const body = JSON.stringify({
        status: this.state === 'running' ? 'ok' : 'shutting_down',
        workerId: this.workerId,
        protocolVersion: PROTOCOL_VERSION,
        activeSessions: this.active,
        parkedSessions: this.parkedSessions,
        maxSessions: this.settings.maxSessions,
        poolSize: this.settings.poolSize,
      });
      response.writeHead(this.state === 'running' ? 200 : 503, { 'content-type': 'application/json' });
      response.end(body);
      return;
    }
    response.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
    response.end('This is an EnclaveJS runtime worker: connect with a WebSocket.\n');
  }

  private handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (error) => this.logger.debug('Upgrade socket error', { error: error.message }));
    if (this.state !== 'running' || this.webSocketServer === undefined) {
      refuseUpgrade(socket, 503, 'Service Unavailable');
      return;
    }
    const { authToken } = this.settings;
    if (authToken !== undefined && !isAuthorizedBearer(request.headers.authorization, authToken)) {
      this.logger.warn('Refused a connection without a valid token', {
        remoteAddress: request.socket.remoteAddress,
      });
      refuseUpgrade(socket, 401, 'Unauthorized');
      return;
    }
    this.webSocketServer.handleUpgrade(request, socket, head, (webSocket) => {
      if (this.state !== 'running' || this.executor === undefined) {
        webSocket.close(GOING_AWAY, 'shutting down');
        return;
      }
      const executor = this.executor;
      const connection = new WorkerConnection(
        webSocket,
        {
          executor,
          logger: this.logger,
          maxMessageBytes: this.settings.maxMessageBytes,
          reserveSession: () => this.reserveSession(),
          releaseSession: () => this.releaseSession(),
        },
        this.nextConnectionId++,
      );
      this.connectionSet.add(connection);
      webSocket.once('close', () => this.connectionSet.delete(connection));
      this.logger.debug('Broker connected', {
        connectionId: connection.connectionId,
        remoteAddress: request.socket.remoteAddress,
      });
      connection.send({
        type: 'hello',
        protocolVersion: PROTOCOL_VERSION,
        workerId: this.workerId,
        maxSessions: this.settings.maxSessions,
        poolSize: this.settings.poolSize,
      });
      connection.send(this.loadMessage());
    });
  }

  private reserveSession(): WireError | undefined {
    if (this.state !== 'running') {
      return { code: 'SHUTTING_DOWN', message: 'The runtime worker is shutting down' };
    }
    if (this.active >= this.settings.maxSessions) {
      return {
        code: 'RUNTIME_UNAVAILABLE',
        message: `The runtime worker is at capacity (${this.settings.maxSessions} sessions)`,
      };
    }
    this.active += 1;
    this.scheduleLoadReport();
    return undefined;
  }

  private releaseSession(): void {
    this.active = Math.max(0, this.active - 1);
    this.scheduleLoadReport();
  }

  /** Reports a changed load once per turn of the event loop, however many sessions started or ended in it. */
  private scheduleLoadReport(): void {
    if (this.loadChangeScheduled) return;
    this.loadChangeScheduled = true;
    setImmediate(() => {
      this.loadChangeScheduled = false;
      this.reportLoadIfChanged();
    });
  }

  /** Sends `load` when the active or parked count differs from the last one sent. */
  private reportLoadIfChanged(): void {
    if (this.active !== this.lastReportedLoad || this.executor?.parkedSessions !== this.lastReportedParked) {
      this.broadcastLoad();
    }
  }

  private broadcastLoad(): void {
    if (this.state !== 'running') return;
    const message = this.loadMessage();
    this.lastReportedLoad = message.activeSessions;
    this.lastReportedParked = message.parkedSessions;
    for (const connection of this.connectionSet) connection.send(message);
  }

  private loadMessage(): LoadMessage {
    const parked = this.executor?.parkedSessions;
    return {
      type: 'load',
      activeSessions: this.active,
      maxSessions: this.settings.maxSessions,
      poolSize: this.settings.poolSize,
      ...(parked === undefined ? {} : { parkedSessions: parked }),
    };
  }
}

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
