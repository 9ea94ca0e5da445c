import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { SessionExecutor } from '@enclave-vm/runtime';
import {
  DEFAULT_SECURITY_LEVEL,
  EnclaveError,
  type EventFilter,
  EventFilterSchema,
  type ExecuteRequest,
  ExecuteRequestSchema,
  formatIssues,
  type HealthResponse,
  resolveLimits,
  type SealedMessagePayload,
  type SecurityLevel,
  SecurityLevelSchema,
  type SessionLimits,
  SessionLimitsSchema,
  type StreamEvent,
  toEnclaveError,
  validate,
} from '@enclave-vm/types';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { BrokerEventEmitter, type BrokerEventMap, type BrokerEventName } from './broker-events.js';
import { CatalogHandler } from './catalog/catalog-handler.js';
import { createBrokerApp } from './http/create-broker-app.js';
import type { BrokerOptions, Logger } from './options/broker-options.js';
import { parseBody } from './parse-body.js';
import { createSessionExecutor } from './runtimes/create-session-executor.js';
import { resolveRuntimeMode } from './runtimes/resolve-runtime-mode.js';
import { DeadlineQueue } from './sessions/deadline-queue.js';
import { createEventPredicate } from './sessions/event-filter.js';
import { DEFAULT_MAX_EVENT_LOG_SIZE, InMemorySessionStore } from './sessions/in-memory-session-store.js';
import type { Session } from './sessions/session.js';
import { loggedTypeOf, SessionEncryption } from './sessions/session-encryption.js';
import { type OpenedEventSource, SessionEventStream } from './sessions/session-event-stream.js';
import { SessionRun, type SessionRunHost } from './sessions/session-run.js';
import type { SessionStore } from './sessions/session-store.js';
import { ToolRegistry } from './tools/tool-registry.js';
import type { AuthenticatedUser, ZodToolConfig } from './tools/tool-types.js';

/** Options of {@link EnclaveBroker.execute}. */
export interface ExecuteOptions {
  /** Wall-clock timeout of the run in ms; capped by the broker's security level. */
  timeout?: number;
  /** Most tool calls the code may make; capped by the broker's security level. */
  maxToolCalls?: number;
  /** Read-only JSON data the code sees as `context` (tool handlers see it too). */
  context?: Record<string, unknown>;
  /** Which events the iteration yields (`session_init` and `final` always). */
  filter?: EventFilter;
}

/** Options of {@link EnclaveBroker.streamEvents}. */
export interface StreamEventsOptions {
  /** First seq to send (inclusive). @default 1 */
  fromSeq?: number;
  /** Which events to send (`session_init` and `final` always). */
  filter?: EventFilter;
  /** The authenticated caller; another tenant's session is reported as not found. */
  caller?: AuthenticatedUser;
}

/** The error a tool call is answered with, as `submitToolResult` takes it. */
export interface ToolResultError {
  message: string;
  /** Error code the guest sees. @default 'TOOL_ERROR' */
  code?: string;
}

/** Where a listening broker is bound. */
export interface BrokerAddress {
  port: number;
  host: string;
}

/** Default of {@link BrokerOptions.sessionTimeout}. */
export const DEFAULT_SESSION_TIMEOUT = 300_000;
/** Default of {@link BrokerOptions.maxConcurrentSessions}. */
export const DEFAULT_MAX_CONCURRENT_SESSIONS = 1000;
/** Default of {@link BrokerOptions.heartbeatInterval}. */
export const DEFAULT_HEARTBEAT_INTERVAL = 15_000;

/** Heartbeats due within this share of the interval are sent in one timer wake-up. */
const HEARTBEAT_COALESCE_SHARE = 0.05;
const HEARTBEAT_COALESCE_MAX_MS = 100;

/** Logs warnings and errors to the console and drops the rest: the default {@link Logger}. */
const consoleWarningLogger: Logger = Object.freeze({
  debug(): void {},
  info(): void {},
  warn(message: string, data?: Record<string, unknown>): void {
    console.warn(`[enclave-broker] ${message}`, data ?? '');
  },
  error(message: string, data?: Record<string, unknown>): void {
    console.error(`[enclave-broker] ${message}`, data ?? '');
  },
});

interface ResolvedSettings {
  securityLevel: SecurityLevel;
  /** The level's limits with `options.limits` applied. */
  limits: SessionLimits;
  sessionTimeout: number;
  maxConcurrentSessions: number;
  heartbeatInterval: number;
  maxEventLogSize: number;
}

/**
 * The broker: runs code in a sandbox runtime (embedded worker threads or extracted runtime workers),
 * answers its tool calls, keeps every session's numbered event log for resume, and serves the HTTP
 * API once `listen` is called. `Broker` is the same class.
 *
 * @example
 * const broker = createBroker({ securityLevel: 'SECURE' });
 * broker.tool('getCurrentTime', {
 *   description: 'Get the current time',
 *   argsSchema: z.object({ timezone: z.string().optional() }),
 *   handler: async ({ timezone }) => new Date().toLocaleString('en-US', { timeZone: timezone }),
 * });
 * for await (const event of broker.execute('return await tools.getCurrentTime({})')) {
 *   console.log(event.type, event.payload);
 * }
 */
export class EnclaveBroker implements AsyncDisposable {
  /** The options the broker was created with. */
  readonly options: BrokerOptions;
  /** The tools that run on the broker (`options.tools` when given). */
  readonly tools: ToolRegistry;
  /**
   * Where the broker and its HTTP layer log: `options.logger`, or by default warnings and errors to
   * the console.
   */
  readonly logger: Logger;
  /**
   * The action catalog of `options.openApiSources` and `options.mcpServers`: their operations and
   * tools are tools of {@link tools}, kept current, and served at `GET /code/actions`.
   */
  readonly catalog: CatalogHandler;
  private readonly settings: ResolvedSettings;
  private readonly store: SessionStore;
  private readonly events: BrokerEventEmitter;
  private readonly runs = new Map<string, SessionRun>();
  private readonly heartbeats: DeadlineQueue<SessionRun>;
  private readonly expiries: DeadlineQueue<string>;
  private readonly startedAt = performance.now();
  private sessionsStarted = 0;
  private executorPromise: Promise<SessionExecutor> | undefined;
  private app: FastifyInstance | undefined;
  private listening: Promise<void> | undefined;
  private boundAddress: BrokerAddress | undefined;
  private closing: Promise<void> | undefined;
  private sweepScheduled = false;
  private readonly runHost: SessionRunHost;

  /**
   * Creates a broker. Only the polling of `openApiSources` and the connections to `mcpServers` start
   * at once; the runtime and the HTTP server wait for the first session or `listen`. Throws
   * `CONFIGURATION_ERROR` for invalid options, and for `redis`: the Redis session store is not
   * available yet.
   */
  constructor(options: BrokerOptions = {}) {
    this.settings = resolveSettings(options);
    resolveRuntimeMode(options);
    if (options.tools !== undefined && !(options.tools instanceof ToolRegistry)) {
      throw new EnclaveError('CONFIGURATION_ERROR', 'tools must be a ToolRegistry');
    }
    if (options.toolHandler !== undefined && typeof options.toolHandler !== 'function') {
      throw new EnclaveError('CONFIGURATION_ERROR', 'toolHandler must be a function');
    }
    this.options = options;
    this.tools = options.tools ?? new ToolRegistry();
    this.logger = options.logger ?? consoleWarningLogger;
    this.events = new BrokerEventEmitter(this.logger);
    this.catalog = new CatalogHandler(this.tools, options.openApiSources ?? [], {
      logger: this.logger,
      mcpServers: options.mcpServers ?? [],
    });
    this.catalog.on('changed', (change) => {
      for (const run of this.runs.values()) run.catalogChanged(change);
      this.events.emit('catalog:changed', change);
    });
    this.store = new InMemorySessionStore({ maxEventLogSize: this.settings.maxEventLogSize });
    const interval = this.settings.heartbeatInterval;
    this.heartbeats = new DeadlineQueue<SessionRun>({
      coalesceMs: Math.min(HEARTBEAT_COALESCE_MAX_MS, Math.floor(interval * HEARTBEAT_COALESCE_SHARE)),
      onDue: (run) => {
        if (run.heartbeat()) this.heartbeats.add(run, Date.now() + interval);
      },
    });
    this.expiries = new DeadlineQueue<string>({ onDue: () => this.scheduleSweep() });
    this.runHost = {
      store: this.store,
      tools: this.tools,
      toolHandler: options.toolHandler,
      events: this.events,
      logger: this.logger,
      runEnded: (run) => {
        this.runs.delete(run.id);
      },
    };
  }

  /**
   * Registers a tool whose arguments are described by a zod schema. Throws `CONFIGURATION_ERROR`
   * when the name is taken or the config is invalid.
   *
   * @example
   * broker.tool('getCurrentTime', {
   *   description: 'Get the current time',
   *   argsSchema: z.object({ timezone: z.string().optional() }),
   *   handler: async ({ timezone }) => new Date().toLocaleString('en-US', { timeZone: timezone }),
   * });
   */
  tool<Schema extends z.ZodType>(name: string, config: ZodToolConfig<Schema>): this {
    this.tools.registerZodTool(name, config);
    return this;
  }

  /** Adds a listener for one of the broker's events (see {@link BrokerEventMap}). */
  on<Name extends BrokerEventName>(name: Name, listener: BrokerEventMap[Name]): this {
    this.events.on(name, listener);
    return this;
  }

  /** Adds a listener that is removed after its first call. */
  once<Name extends BrokerEventName>(name: Name, listener: BrokerEventMap[Name]): this {
    this.events.once(name, listener);
    return this;
  }

  /** Removes a listener added with `on`. */
  off<Name extends BrokerEventName>(name: Name, listener: BrokerEventMap[Name]): this {
    this.events.off(name, listener);
    return this;
  }

  /**
   * Runs code and yields its events as they happen, from `session_init` to `final`. The session
   * starts when iteration starts; a bad request rejects the first `next()` with `VALIDATION_ERROR`.
   * Stopping the iteration early does not cancel the session (use `cancelSession`).
   *
   * @example
   * for await (const event of broker.execute('console.log("hi"); return 42')) {
   *   console.log(event.type, event.payload);
   * }
   */
  execute(code: string, options: ExecuteOptions = {}): AsyncIterable<StreamEvent> {
    const { filter, ...rest } = options;
    return new SessionEventStream(async (push) => {
      const session = await this.startSession({ ...rest, code });
      return this.openEventSource(session.id, filter === undefined ? {} : { filter }, push);
    }, 1);
  }

  /**
   * Starts a session for an execute request and resolves once its `session_init` (seq 1) is logged.
   * Throws `VALIDATION_ERROR` for a bad request, `SESSION_LIMIT_REACHED` when `maxConcurrentSessions`
   * sessions are pending or running, `SHUTTING_DOWN` once `close` was called, and
   * `RUNTIME_UNAVAILABLE` when no runtime can be reached. Request `timeout` and `maxToolCalls` above
   * the broker's limits (the security level's, with `options.limits` applied) are lowered to them.
   */
  async startSession(request: ExecuteRequest, caller?: AuthenticatedUser): Promise<Session> {
    const body = parseBody(ExecuteRequestSchema, request, 'execute request');
    const context = copyContext(body.context);
    this.assertOpen();
    // A session started right after the broker sees every source's first answer.
    await this.catalog.ready();
    const executor = await this.ensureExecutor();
    this.assertOpen();
    const now = Date.now();
    const id = `ses_${randomUUID().replaceAll('-', '')}`;
    // Before the session takes a slot: a client key that is not a P-256 point is refused here.
    const encryption =
      body.encryption === undefined
        ? undefined
        : await SessionEncryption.create(id, body.encryption.publicKey);
    const limits = this.limitsFor(body);
    const expiresAt = now + this.settings.sessionTimeout;
    const created = await this.store.createSession(
      {
        id,
        status: 'pending',
        createdAt: now,
        expiresAt,
        securityLevel: this.settings.securityLevel,
        limits,
        lastSeq: 0,
        stats: { durationMs: 0, cpuTimeMs: 0, toolCalls: 0, stdoutBytes: 0 },
        pendingToolCalls: [],
        ...(caller === undefined ? {} : { user: caller }),
      },
      { maxActive: this.settings.maxConcurrentSessions },
    );
    if (!created) {
      throw new EnclaveError(
        'SESSION_LIMIT_REACHED',
        `${this.settings.maxConcurrentSessions} sessions are already running; try again when one has ended`,
      );
    }
    if (this.closing !== undefined) {
      await this.store.deleteSession(id);
      throw shuttingDown();
    }
    const run = new SessionRun(this.runHost, {
      id,
      code: body.code,
      createdAt: now,
      expiresAt,
      securityLevel: this.settings.securityLevel,
      limits,
      context,
      user: caller,
      encryption,
    });
    this.runs.set(id, run);
    this.sessionsStarted++;
    this.expiries.add(id, expiresAt);
    const announced = run.announce();
    if (this.events.has('session:created')) this.events.emit('session:created', run.snapshot());
    try {
      await announced;
    } catch (error) {
      const failure = toEnclaveError(error);
      run.end(failure);
      throw failure;
    }
    run.start(executor);
    if (run.running) this.heartbeats.add(run, Date.now() + this.settings.heartbeatInterval);
    return run.snapshot();
  }

  /**
   * The events of a session: every logged event with `seq ≥ fromSeq`, then live ones, ending after
   * `final`. Errors reject the first `next()`: `SESSION_NOT_FOUND` (unknown, expired or another
   * tenant's), `EVENT_LOG_TRUNCATED` (events from `fromSeq` were dropped from the bounded log; its
   * details give `firstAvailableSeq`), `VALIDATION_ERROR` (bad `fromSeq` or filter). Stopping the
   * iteration never cancels the session.
   */
  streamEvents(sessionId: string, options: StreamEventsOptions = {}): AsyncIterable<StreamEvent> {
    return new SessionEventStream(
      (push) => this.openEventSource(sessionId, options, push),
      options.fromSeq ?? 1,
    );
  }

  /** The session, or `null` when it is unknown, expired, or belongs to another tenant than `caller`'s. */
  async getSession(sessionId: string, caller?: AuthenticatedUser): Promise<Session | null> {
    const run = this.runs.get(sessionId);
    if (run !== undefined) {
      return isVisible(run.user, run.expiresAt, caller) ? run.snapshot() : null;
    }
    const session = await this.store.getSession(sessionId);
    return session !== null && isVisible(session.user, session.expiresAt, caller) ? session : null;
  }

  /**
   * Answers a tool call the client owns: with `result`, or with `error` (thrown inside the code with
   * `error.code`, default `TOOL_ERROR`). Throws `SESSION_NOT_FOUND`, `TOOL_CALL_NOT_FOUND`,
   * `TOOL_CALL_ALREADY_ANSWERED` (also once the tool timeout answered it) or `SESSION_ENDED`.
   */
  async submitToolResult(
    sessionId: string,
    callId: string,
    result: unknown,
    error?: ToolResultError,
    caller?: AuthenticatedUser,
  ): Promise<void> {
    const run = this.runs.get(sessionId);
    if (run !== undefined && isVisible(run.user, run.expiresAt, caller)) {
      if (run.encryption !== undefined) {
        throw new EnclaveError(
          'ENCRYPTION_ERROR',
          `Session ${sessionId} is encrypted: its tool results must be sealed (send { callId, encrypted })`,
        );
      }
      run.submitClientResult(
        callId,
        error === undefined
          ? { ok: true, result }
          : { ok: false, error: { code: error.code ?? 'TOOL_ERROR', message: String(error.message) } },
      );
      return;
    }
    const session = await this.getSession(sessionId, caller);
    if (session === null) throw sessionNotFound(sessionId);
    // Every visible session this broker does not run has ended.
    throw new EnclaveError('SESSION_ENDED', `Session ${sessionId} has already ended`);
  }

  /**
   * Answers a tool call of an encrypted session with the client's sealed `{ callId, result?, error? }`
   * (see `SessionCipher.sealMessage` in `@enclave-vm/stream`). Throws `ENCRYPTION_ERROR` when the
   * session is not encrypted or the message cannot be opened (changed, replayed, sealed for another
   * call) — the call then still waits for a valid answer — and otherwise what `submitToolResult`
   * throws.
   */
  async submitSealedToolResult(
    sessionId: string,
    callId: string,
    sealed: SealedMessagePayload,
    caller?: AuthenticatedUser,
  ): Promise<void> {
    const run = this.runs.get(sessionId);
    if (run !== undefined && isVisible(run.user, run.expiresAt, caller)) {
      if (run.encryption === undefined) {
        throw new EnclaveError(
          'ENCRYPTION_ERROR',
          `Session ${sessionId} is not encrypted: send the tool result as { callId, result } or { callId, error }`,
        );
      }
      const opened = await run.encryption.openToolResult(callId, sealed);
      run.submitClientResult(
        callId,
        opened.error === undefined
          ? { ok: true, result: opened.result }
          : { ok: false, error: { code: opened.error.code ?? 'TOOL_ERROR', message: opened.error.message } },
      );
      return;
    }
    const session = await this.getSession(sessionId, caller);
    if (session === null) throw sessionNotFound(sessionId);
    throw new EnclaveError('SESSION_ENDED', `Session ${sessionId} has already ended`);
  }

  /**
   * Cancels a running session: it ends with `error` + `final` (code `CANCELLED`) and the runtime
   * stops it. On an ended session it changes nothing. Resolves with the session as it is afterwards;
   * throws `SESSION_NOT_FOUND`.
   */
  async cancelSession(sessionId: string, caller?: AuthenticatedUser): Promise<Session> {
    const run = this.runs.get(sessionId);
    if (run !== undefined && isVisible(run.user, run.expiresAt, caller)) {
      run.end(new EnclaveError('CANCELLED', `Session ${sessionId} was cancelled`));
      return run.snapshot();
    }
    const session = await this.getSession(sessionId, caller);
    if (session === null) throw sessionNotFound(sessionId);
    return session;
  }

  /**
   * Liveness and load: `active` counts this broker's pending and running sessions, `total` the
   * sessions it has started since it was created; `uptime` is in seconds.
   */
  health(): HealthResponse {
    return {
      status: 'ok',
      uptime: (performance.now() - this.startedAt) / 1000,
      sessions: { active: this.runs.size, total: this.sessionsStarted },
    };
  }

  /**
   * Starts the runtime and the HTTP server. Use port 0 for a free port (see {@link address}).
   * Throws `CONFIGURATION_ERROR` when already listening, `SHUTTING_DOWN` after `close`.
   *
   * @param host Interface to bind. @default '127.0.0.1'
   */
  async listen(port: number, host = '127.0.0.1'): Promise<void> {
    this.assertOpen();
    if (this.listening !== undefined) {
      throw new EnclaveError('CONFIGURATION_ERROR', 'The broker is already listening');
    }
    const listening = this.startListening(port, host);
    this.listening = listening;
    try {
      await listening;
    } catch (error) {
      this.listening = undefined;
      throw error;
    }
  }

  /** Where the HTTP server is bound. Throws `CONFIGURATION_ERROR` before `listen` has resolved. */
  address(): BrokerAddress {
    if (this.boundAddress === undefined) {
      throw new EnclaveError('CONFIGURATION_ERROR', 'The broker is not listening; call listen() first');
    }
    return { ...this.boundAddress };
  }

  /**
   * Shuts down gracefully: new sessions are refused with `SHUTTING_DOWN`, every running session ends
   * with `error` + `final` (code `SHUTTING_DOWN`, so open streams finish), the catalog stops polling
   * and removes its tools, the HTTP server stops and the runtime is closed. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  /** Same as {@link close}, for `await using broker = createBroker(...)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private async openEventSource(
    sessionId: string,
    options: StreamEventsOptions,
    push: (event: StreamEvent) => void,
  ): Promise<OpenedEventSource> {
    const fromSeq = options.fromSeq ?? 1;
    if (!Number.isSafeInteger(fromSeq) || fromSeq < 1) {
      throw new EnclaveError(
        'VALIDATION_ERROR',
        `fromSeq must be a positive integer, got ${String(fromSeq)}`,
      );
    }
    let predicate: ((event: StreamEvent) => boolean) | undefined;
    if (options.filter !== undefined) {
      const filter = validate(EventFilterSchema, options.filter);
      if (!filter.success) throw new EnclaveError('VALIDATION_ERROR', `Invalid filter: ${filter.message}`);
      predicate = createEventPredicate(filter.data);
    }
    if ((await this.getSession(sessionId, options.caller)) === null) throw sessionNotFound(sessionId);
    const unsubscribe = await this.store.subscribe(sessionId, push);
    try {
      const range = await this.store.readEvents(sessionId, fromSeq);
      if (!range.ok) {
        throw new EnclaveError(
          'EVENT_LOG_TRUNCATED',
          `Events of session ${sessionId} before seq ${range.firstAvailableSeq} were dropped from its event log; resume from ${range.firstAvailableSeq} or later`,
          { details: { firstAvailableSeq: range.firstAvailableSeq } },
        );
      }
      const current = this.runs.get(sessionId)?.snapshot() ?? (await this.store.getSession(sessionId));
      // Gone (expired meanwhile), or ended with its final before fromSeq: nothing more will come.
      const complete =
        current === null ||
        (current.status !== 'pending' && current.status !== 'running' && current.lastSeq < fromSeq) ||
        isFinal(range.events.at(-1));
      return { replay: range.events, complete, predicate, unsubscribe };
    } catch (error) {
      unsubscribe();
      throw error;
    }
  }

  private async startListening(port: number, host: string): Promise<void> {
    await this.ensureExecutor();
    const app = await createBrokerApp(this);
    this.app = app;
    try {
      await app.listen({ port, host });
    } catch (error) {
      this.app = undefined;
      await app.close();
      throw new EnclaveError(
        'CONFIGURATION_ERROR',
        `Cannot listen on ${host}:${port}: ${errorMessage(error)}`,
        {
          cause: error,
        },
      );
    }
    const address = app.server.address() as AddressInfo;
    this.boundAddress = { port: address.port, host: address.address };
  }

  private ensureExecutor(): Promise<SessionExecutor> {
    if (this.executorPromise === undefined) {
      const creating = createSessionExecutor(this.options, this.logger).then(
        async (executor) => {
          if (this.closing !== undefined) {
            await executor.close();
            throw shuttingDown();
          }
          return executor;
        },
        (error: unknown) => {
          // A later session or listen() tries again (the runtime may come up in the meantime).
          this.executorPromise = undefined;
          throw toEnclaveError(error, 'RUNTIME_UNAVAILABLE');
        },
      );
      this.executorPromise = creating;
    }
    return this.executorPromise;
  }

  private limitsFor(request: ExecuteRequest): SessionLimits {
    const limits = this.settings.limits;
    if (request.timeout === undefined && request.maxToolCalls === undefined) return limits;
    return Object.freeze({
      ...limits,
      timeout: Math.min(request.timeout ?? limits.timeout, limits.timeout),
      maxToolCalls: Math.min(request.maxToolCalls ?? limits.maxToolCalls, limits.maxToolCalls),
    });
  }

  private scheduleSweep(): void {
    if (this.sweepScheduled) return;
    this.sweepScheduled = true;
    queueMicrotask(() => {
      this.sweepScheduled = false;
      this.sweepExpired().catch((error: unknown) => {
        this.logger.error('Could not remove expired sessions', { error: errorMessage(error) });
      });
    });
  }

  private async sweepExpired(): Promise<void> {
    const expired = await this.store.listExpired(Date.now());
    for (const sessionId of expired) {
      this.runs
        .get(sessionId)
        ?.end(new EnclaveError('SESSION_EXPIRED', `Session ${sessionId} passed its expiry time`));
      await this.store.deleteSession(sessionId);
    }
  }

  private assertOpen(): void {
    if (this.closing !== undefined) throw shuttingDown();
  }

  private async shutDown(): Promise<void> {
    const error = new EnclaveError('SHUTTING_DOWN', 'The broker is shutting down');
    for (const run of [...this.runs.values()]) run.end(error);
    await this.catalog.close();
    this.heartbeats.close();
    this.expiries.close();
    const failures: unknown[] = [];
    if (this.listening !== undefined) {
      await this.listening.catch(() => undefined);
      if (this.app !== undefined) await this.app.close().catch((failure: unknown) => failures.push(failure));
    }
    if (this.executorPromise !== undefined) {
      const executor = await this.executorPromise.catch(() => undefined);
      if (executor !== undefined) await executor.close().catch((failure: unknown) => failures.push(failure));
    }
    await this.store.close().catch((failure: unknown) => failures.push(failure));
    this.boundAddress = undefined;
    if (failures.length > 0) {
      this.logger.error('The broker did not close cleanly', { errors: failures.map(errorMessage) });
    }
  }
}

function resolveSettings(options: BrokerOptions): ResolvedSettings {
  if (options.redis !== undefined) {
    throw new EnclaveError(
      'CONFIGURATION_ERROR',
      'The Redis session store is not available yet; leave out `redis` to keep sessions in memory',
    );
  }
  const securityLevel = options.securityLevel ?? DEFAULT_SECURITY_LEVEL;
  if (!SecurityLevelSchema.safeParse(securityLevel).success) {
    throw new EnclaveError(
      'CONFIGURATION_ERROR',
      `securityLevel must be one of ${SecurityLevelSchema.options.join(', ')}, got ${JSON.stringify(securityLevel)}`,
    );
  }
  if (options.limits !== undefined) {
    if (typeof options.limits !== 'object' || options.limits === null) {
      throw new EnclaveError('CONFIGURATION_ERROR', 'limits must be an object of session limits');
    }
    const unknown = Object.keys(options.limits).filter(
      (key) => !Object.hasOwn(SessionLimitsSchema.shape, key),
    );
    if (unknown.length > 0) {
      throw new EnclaveError('CONFIGURATION_ERROR', `limits: unknown limit ${unknown.join(', ')}`);
    }
  }
  let limits: SessionLimits;
  try {
    limits = Object.freeze(resolveLimits(securityLevel, options.limits ?? {}));
  } catch (error) {
    throw new EnclaveError('CONFIGURATION_ERROR', `limits: ${describeLimitsError(error)}`, { cause: error });
  }
  return {
    securityLevel,
    limits,
    sessionTimeout: positiveInteger('sessionTimeout', options.sessionTimeout, DEFAULT_SESSION_TIMEOUT),
    maxConcurrentSessions: positiveInteger(
      'maxConcurrentSessions',
      options.maxConcurrentSessions,
      DEFAULT_MAX_CONCURRENT_SESSIONS,
    ),
    heartbeatInterval: positiveInteger(
      'heartbeatInterval',
      options.heartbeatInterval,
      DEFAULT_HEARTBEAT_INTERVAL,
    ),
    maxEventLogSize: positiveInteger('maxEventLogSize', options.maxEventLogSize, DEFAULT_MAX_EVENT_LOG_SIZE),
  };
}

function describeLimitsError(error: unknown): string {
  if (error instanceof z.ZodError) return formatIssues(error.issues);
  return errorMessage(error);
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new EnclaveError('CONFIGURATION_ERROR', `${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/** A session is visible while unexpired, and to a caller only within the caller's tenant. */
function isVisible(
  owner: AuthenticatedUser | undefined,
  expiresAt: number,
  caller: AuthenticatedUser | undefined,
): boolean {
  if (Date.now() >= expiresAt) return false;
  return caller === undefined || caller.tenantId === owner?.tenantId;
}

/** A deep-frozen JSON copy of the request's context, so neither code nor tools can change it. */
function copyContext(context: Record<string, unknown> | undefined): Readonly<Record<string, unknown>> {
  if (context === undefined) return Object.freeze({});
  let copy: Record<string, unknown>;
  try {
    copy = JSON.parse(JSON.stringify(context)) as Record<string, unknown>;
  } catch (error) {
    throw new EnclaveError(
      'VALIDATION_ERROR',
      `context: must be JSON-serializable (${errorMessage(error)})`,
      {
        cause: error,
      },
    );
  }
  return deepFreeze(copy);
}

function deepFreeze<Value>(value: Value): Value {
  if (typeof value === 'object' && value !== null) {
    for (const nested of Object.values(value)) deepFreeze(nested);
    Object.freeze(value);
  }
  return value;
}

function sessionNotFound(sessionId: string): EnclaveError {
  return new EnclaveError('SESSION_NOT_FOUND', `No session ${sessionId}`);
}

function shuttingDown(): EnclaveError {
  return new EnclaveError('SHUTTING_DOWN', 'The broker is shutting down');
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Whether a logged event is the session's `final` (sealed or not). */
function isFinal(event: StreamEvent | undefined): boolean {
  return event !== undefined && loggedTypeOf(event) === 'final';
}
