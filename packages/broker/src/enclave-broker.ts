import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import {
  type Emitter,
  EnclaveError,
  type EventFilter,
  type ExecuteRequest,
  type HealthResponse,
  type Logger,
  MAX_APPROVAL_REASON_LENGTH,
  type SealedMessagePayload,
  type StreamEvent,
  type Unsubscribe,
} from '@enclave-vm/types';
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { BrokerEventEmitter, type BrokerEventMap, type BrokerEventName } from './broker-events.js';
import { CatalogHandler } from './catalog/catalog-handler.js';
import { createBrokerApp } from './http/create-broker-app.js';
import type { BrokerOptions } from './options/broker-options.js';
import { type BrokerSettings, resolveBrokerSettings } from './options/broker-settings.js';
import { RedisSessionStore } from './redis/redis-session-store.js';
import { createSessionExecutor } from './runtimes/create-session-executor.js';
import { resolveRuntimeMode } from './runtimes/resolve-runtime-mode.js';
import { InMemorySessionStore } from './sessions/in-memory-session-store.js';
import type { Session } from './sessions/session.js';
import { SessionManager, type StreamEventsOptions } from './sessions/session-manager.js';
import type { SessionStore, ToolResultError } from './sessions/session-store.js';
import { ToolRegistry } from './tools/tool-registry.js';
import type { AuthenticatedUser, ZodToolConfig } from './tools/tool-types.js';

export {
  DEFAULT_HEARTBEAT_INTERVAL,
  DEFAULT_MAX_CONCURRENT_SESSIONS,
  DEFAULT_SESSION_TIMEOUT,
} from './options/broker-settings.js';
export type { StreamEventsOptions } from './sessions/session-manager.js';
export type { ToolResultError } from './sessions/session-store.js';

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

/** Where a listening broker is bound. */
export interface BrokerAddress {
  port: number;
  host: string;
}

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
export class EnclaveBroker implements AsyncDisposable, Emitter<BrokerEventMap> {
  /** This broker's id among the brokers sharing its store (`brk_` and 32 hex digits). */
  readonly id = `brk_${randomUUID().replaceAll('-', '')}`;
  /** The options the broker was created with. */
  readonly options: BrokerOptions;
  /** The options checked, with their defaults filled in (frozen). */
  readonly settings: BrokerSettings;
  /** The tools that run on the broker (`options.tools` when given). */
  readonly tools: ToolRegistry;
  /**
   * Where the broker and its HTTP layer log: `options.logger`, or by default warnings and errors to
   * the console.
   */
  readonly logger: Logger;
  /**
   * Where the broker's sessions live: `options.store`, a {@link RedisSessionStore} over
   * `options.redis`, or an {@link InMemorySessionStore}.
   */
  readonly store: SessionStore;
  /**
   * The action catalog of `options.openApiSources` and `options.mcpServers`: their operations and
   * tools are tools of {@link tools}, kept current, and served at `GET /code/actions`.
   */
  readonly catalog: CatalogHandler;
  private readonly events: BrokerEventEmitter;
  private readonly sessions: SessionManager;
  /** Whether the broker created its store (and so closes it). */
  private readonly ownsStore: boolean;
  private app: FastifyInstance | undefined;
  private listening: Promise<void> | undefined;
  private boundAddress: BrokerAddress | undefined;
  private closing: Promise<void> | undefined;

  /**
   * Creates a broker. Only the polling of `openApiSources` and the connections to `mcpServers` start
   * at once; the runtime, the store's connections and the HTTP server wait for the first session or
   * `listen`. Throws `CONFIGURATION_ERROR` for invalid options.
   */
  constructor(options: BrokerOptions = {}) {
    this.settings = resolveBrokerSettings(options);
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
    const { store, owned } = resolveStore(options, this.settings, this.logger);
    this.store = store;
    this.ownsStore = owned;
    this.sessions = new SessionManager({
      brokerId: this.id,
      settings: this.settings,
      store,
      tools: this.tools,
      toolHandler: options.toolHandler,
      events: this.events,
      logger: this.logger,
      createExecutor: () => createSessionExecutor(options, this.logger),
      // A session started right after the broker sees every source's first answer.
      whenReady: () => this.catalog.ready(),
    });
    this.catalog = new CatalogHandler(this.tools, options.openApiSources ?? [], {
      logger: this.logger,
      mcpServers: options.mcpServers ?? [],
    });
    this.catalog.on('changed', (change) => {
      this.sessions.catalogChanged(change);
      this.events.emit('catalog:changed', change);
    });
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

  /**
   * Adds a listener for one of the broker's events (see {@link BrokerEventMap}). Returns the
   * function that removes it (`off(name, listener)` does the same).
   *
   * @example
   * const stop = broker.on('session:created', (session) => console.log('started', session.id));
   * stop();
   */
  on<Name extends BrokerEventName>(name: Name, listener: BrokerEventMap[Name]): Unsubscribe {
    return this.events.on(name, listener);
  }

  /** Adds a listener that is removed after its first call; returns the function that removes it before then. */
  once<Name extends BrokerEventName>(name: Name, listener: BrokerEventMap[Name]): Unsubscribe {
    return this.events.once(name, listener);
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
    return this.sessions.execute({ ...options, code });
  }

  /**
   * What `POST /execute` does: starts a session for an execute request (encryption included) when
   * iteration starts, on behalf of `caller`, and yields its events from `session_init` on, filtered
   * by the request's `filter`. The stream follows the run on this broker from before its first
   * event, so it misses nothing however fast the code logs. Errors of `startSession` reject the
   * first `next()`.
   */
  executeRequest(request: ExecuteRequest, caller?: AuthenticatedUser): AsyncIterable<StreamEvent> {
    return this.sessions.execute(request, caller);
  }

  /**
   * Starts a session for an execute request and resolves once its `session_init` (seq 1) is logged.
   * Throws `VALIDATION_ERROR` for a bad request, `SESSION_LIMIT_REACHED` when `maxConcurrentSessions`
   * sessions are pending or running, `SHUTTING_DOWN` once `close` was called, and
   * `RUNTIME_UNAVAILABLE` when no runtime can be reached. Request `timeout` and `maxToolCalls` above
   * the broker's limits (the security level's, with `options.limits` applied) are lowered to them.
   */
  startSession(request: ExecuteRequest, caller?: AuthenticatedUser): Promise<Session> {
    return this.sessions.startSession(request, caller);
  }

  /**
   * The events of a session: every logged event with `seq ≥ fromSeq`, then live ones, ending after
   * `final`. Errors reject the first `next()`: `SESSION_NOT_FOUND` (unknown, expired or another
   * tenant's), `EVENT_LOG_TRUNCATED` (events from `fromSeq` were dropped from the bounded log; its
   * details give `firstAvailableSeq`), `VALIDATION_ERROR` (bad `fromSeq` or filter). Stopping the
   * iteration never cancels the session.
   */
  streamEvents(sessionId: string, options: StreamEventsOptions = {}): AsyncIterable<StreamEvent> {
    return this.sessions.streamEvents(sessionId, options);
  }

  /** The session, or `null` when it is unknown, expired, or belongs to another tenant than `caller`'s. */
  getSession(sessionId: string, caller?: AuthenticatedUser): Promise<Session | null> {
    return this.sessions.getSession(sessionId, caller);
  }

  /**
   * Answers a tool call the client owns: with `result`, or with `error` (thrown inside the code with
   * `error.code`, default `TOOL_ERROR`). Throws `SESSION_NOT_FOUND`, `TOOL_CALL_NOT_FOUND`,
   * `TOOL_CALL_ALREADY_ANSWERED` (also once the tool timeout answered it), `SESSION_ENDED`, and
   * `ENCRYPTION_ERROR` for an encrypted session (whose results must be sealed).
   */
  submitToolResult(
    sessionId: string,
    callId: string,
    result: unknown,
    error?: ToolResultError,
    caller?: AuthenticatedUser,
  ): Promise<void> {
    const answer =
      error === undefined ? { kind: 'plain' as const, result } : { kind: 'plain' as const, result, error };
    return this.sessions.submitToolResult(sessionId, callId, answer, caller);
  }

  /**
   * Answers a tool call of an encrypted session with the client's sealed `{ callId, result?, error? }`
   * (see `SessionCipher.sealMessage` in `@enclave-vm/stream`). Throws `ENCRYPTION_ERROR` when the
   * session is not encrypted or the message cannot be opened (changed, replayed, sealed for another
   * call) — the call then still waits for a valid answer — and otherwise what `submitToolResult`
   * throws.
   */
  submitSealedToolResult(
    sessionId: string,
    callId: string,
    sealed: SealedMessagePayload,
    caller?: AuthenticatedUser,
  ): Promise<void> {
    return this.sessions.submitToolResult(sessionId, callId, { kind: 'sealed', sealed }, caller);
  }

  /**
   * Decides the approval of a tool call waiting for one (its `approval_required` event), from any
   * broker sharing the store: `approved` lets the tool run; a denial makes the call throw
   * `APPROVAL_DENIED` inside the code, with `reason`. `caller` (the authenticated user) is recorded
   * in `approval_resolved` as who decided, and must see the session (its tenant). Resolves once the
   * decision is logged. Throws `SESSION_NOT_FOUND`, `APPROVAL_NOT_FOUND` (no call with this id
   * waits for approval), `APPROVAL_ALREADY_RESOLVED` (decided before, or timed out),
   * `SESSION_ENDED`, and `ENCRYPTION_ERROR` for an encrypted session (whose decisions must be
   * sealed: {@link submitSealedApproval}).
   *
   * @example
   * broker.on('approval:required', (session, tool, args, { callId }) => {
   *   void broker.submitApproval(session.id, callId, tool !== 'users:delete', 'Deletes need a ticket');
   * });
   */
  submitApproval(
    sessionId: string,
    callId: string,
    approved: boolean,
    reason?: string,
    caller?: AuthenticatedUser,
  ): Promise<void> {
    if (typeof approved !== 'boolean') {
      return Promise.reject(new EnclaveError('VALIDATION_ERROR', 'approved must be true or false'));
    }
    if (reason !== undefined && (typeof reason !== 'string' || reason.length > MAX_APPROVAL_REASON_LENGTH)) {
      return Promise.reject(
        new EnclaveError(
          'VALIDATION_ERROR',
          `reason must be a string of at most ${MAX_APPROVAL_REASON_LENGTH} characters`,
        ),
      );
    }
    const answer =
      reason === undefined
        ? { kind: 'plain' as const, approved }
        : { kind: 'plain' as const, approved, reason };
    return this.sessions.submitApproval(sessionId, callId, answer, caller);
  }

  /**
   * Decides the approval of a tool call of an encrypted session with the client's sealed
   * `{ type: 'approval', callId, approved, reason? }` (`SessionCipher.sealMessage` of
   * `@enclave-vm/stream`). Throws `ENCRYPTION_ERROR` when the session is not encrypted or the
   * message cannot be opened (changed, replayed, sealed for another call) — the call then still
   * waits for a valid decision — and otherwise what {@link submitApproval} throws.
   */
  submitSealedApproval(
    sessionId: string,
    callId: string,
    sealed: SealedMessagePayload,
    caller?: AuthenticatedUser,
  ): Promise<void> {
    return this.sessions.submitApproval(sessionId, callId, { kind: 'sealed', sealed }, caller);
  }

  /**
   * Cancels a running session: it ends with `error` + `final` (code `CANCELLED`) and the runtime
   * stops it. On an ended session it changes nothing. Resolves with the session as it is afterwards;
   * throws `SESSION_NOT_FOUND`.
   */
  cancelSession(sessionId: string, caller?: AuthenticatedUser): Promise<Session> {
    return this.sessions.cancelSession(sessionId, caller);
  }

  /**
   * Liveness and load: `active` counts this broker's pending and running sessions, `total` the
   * sessions it has started since it was created, `parked` the sessions parked right now in the
   * sandboxes that run its sessions (waiting on tool calls, their engine instances freed; see
   * `parkAfterMs`; runtime workers shared with other brokers count theirs too); `uptime` is in
   * seconds.
   */
  health(): HealthResponse {
    return this.sessions.health();
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
   * with `error` + `final` (code `SHUTTING_DOWN`, so open streams finish), the HTTP server stops and
   * the runtime is closed, and the store when the broker created it. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  /** Same as {@link close}, for `await using broker = createBroker(...)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private async startListening(port: number, host: string): Promise<void> {
    await this.sessions.start();
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

  private assertOpen(): void {
    if (this.closing !== undefined) throw shuttingDown();
  }

  private async shutDown(): Promise<void> {
    await this.sessions.endAll();
    await this.catalog.close();
    const failures: unknown[] = [];
    if (this.listening !== undefined) {
      await this.listening.catch(() => undefined);
      if (this.app !== undefined) await this.app.close().catch((failure: unknown) => failures.push(failure));
    }
    failures.push(...(await this.sessions.close(this.ownsStore)));
    this.boundAddress = undefined;
    if (failures.length > 0) {
      this.logger.error('The broker did not close cleanly', { errors: failures.map(errorMessage) });
    }
  }
}

/** The store of a broker: `options.store` (the caller's to close), or one the broker creates. */
function resolveStore(
  options: BrokerOptions,
  settings: BrokerSettings,
  logger: Logger,
): { store: SessionStore; owned: boolean } {
  if (options.redis !== undefined) {
    if (options.store !== undefined) {
      throw new EnclaveError('CONFIGURATION_ERROR', 'Give either redis or store, not both');
    }
    const store = new RedisSessionStore({
      redis: options.redis,
      keyPrefix: settings.keyPrefix,
      maxEventLogSize: settings.maxEventLogSize,
      logger,
    });
    return { store, owned: true };
  }
  if (options.store !== undefined) {
    if (!isSessionStore(options.store)) {
      throw new EnclaveError('CONFIGURATION_ERROR', 'store must implement SessionStore');
    }
    if (options.maxEventLogSize !== undefined) {
      throw new EnclaveError(
        'CONFIGURATION_ERROR',
        'maxEventLogSize configures the store the broker creates; with `store`, set it on that store',
      );
    }
    return { store: options.store, owned: false };
  }
  return { store: new InMemorySessionStore({ maxEventLogSize: settings.maxEventLogSize }), owned: true };
}

const STORE_METHODS = [
  'open',
  'join',
  'lostBrokers',
  'sessionsOwnedBy',
  'forgetBroker',
  'createSession',
  'getSession',
  'append',
  'readEvents',
  'subscribe',
  'deleteSession',
  'close',
] as const;

function isSessionStore(value: unknown): value is SessionStore {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    STORE_METHODS.every((name) => typeof candidate[name] === 'function') &&
    typeof candidate.expiryGrace === 'number'
  );
}

function shuttingDown(): EnclaveError {
  return new EnclaveError('SHUTTING_DOWN', 'The broker is shutting down');
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
