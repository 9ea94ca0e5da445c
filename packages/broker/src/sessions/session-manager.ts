import { randomUUID } from 'node:crypto';
import type { SessionExecutor, ToolOutcome } from '@enclave-vm/runtime';
import {
  type ApprovalDecider,
  type CatalogChange,
  EnclaveError,
  type EventFilter,
  EventFilterSchema,
  type ExecuteRequest,
  ExecuteRequestSchema,
  type HealthResponse,
  type Logger,
  type SessionLimits,
  type StreamEvent,
  toEnclaveError,
  validate,
} from '@enclave-vm/types';
import type { BrokerEventEmitter } from '../broker-events.js';
import type { BrokerSettings } from '../options/broker-settings.js';
import { parseBody } from '../parse-body.js';
import type { ToolRegistry } from '../tools/tool-registry.js';
import type { AuthenticatedUser, ToolHandler } from '../tools/tool-types.js';
import { BrokerSessionEncryption } from './broker-session-encryption.js';
import { BrokerSessionRun, type BrokerSessionRunHost } from './broker-session-run.js';
import { ClusterMember } from './cluster-member.js';
import { DeadlineQueue } from './deadline-queue.js';
import { createEventPredicate } from './event-filter.js';
import { isFinalEntry } from './logged-event.js';
import { lostOwnerEnding } from './lost-owner.js';
import type { Session } from './session.js';
import { type OpenedEventSource, SessionEventStream } from './session-event-stream.js';
import {
  type ApprovalAnswer,
  type BrokerReply,
  type BrokerRequest,
  type SessionFollower,
  type SessionStore,
  type ToolAnswer,
  type ToolResultError,
  truncated,
} from './session-store.js';

/** Options of {@link SessionManager.streamEvents}. */
export interface StreamEventsOptions {
  /** First seq to send (inclusive). @default 1 */
  fromSeq?: number;
  /** Which events to send (`session_init` and `final` always). */
  filter?: EventFilter;
  /** The authenticated caller; another tenant's session is reported as not found. */
  caller?: AuthenticatedUser;
}

/** What a {@link SessionManager} works with. */
export interface SessionManagerOptions {
  /** The broker's id among the brokers sharing the store. */
  brokerId: string;
  settings: BrokerSettings;
  store: SessionStore;
  tools: ToolRegistry;
  toolHandler: ToolHandler | undefined;
  events: BrokerEventEmitter;
  logger: Logger;
  /** Creates what runs sessions; called once, again after a failure. */
  createExecutor: () => Promise<SessionExecutor>;
  /** Waited for before each new session (the catalog's first answers). */
  whenReady?: () => Promise<void>;
}

/** Times a lost broker's session is read again when its append meets a late write. */
const LOST_SESSION_ATTEMPTS = 5;

/** Heartbeats due within this share of the interval are sent in one timer wake-up. */
const HEARTBEAT_COALESCE_SHARE = 0.05;
const HEARTBEAT_COALESCE_MAX_MS = 100;

/**
 * Owns the sessions of one broker: starts them, runs them (the running executor of each lives
 * here, and nowhere else), numbers and logs their events through the store, sends their heartbeats,
 * ends them at expiry, and is the one path for their tool results and cancels. Everything readers
 * see (records, event logs) is read from the store, so any broker sharing it serves any session;
 * tool results and cancels for a session another broker runs are routed to that broker, and the
 * sessions of a broker that was lost are ended here.
 */
export class SessionManager {
  /** This broker's id among the brokers sharing the store. */
  readonly brokerId: string;
  private readonly settings: BrokerSettings;
  private readonly store: SessionStore;
  private readonly events: BrokerEventEmitter;
  private readonly logger: Logger;
  private readonly createExecutor: () => Promise<SessionExecutor>;
  private readonly whenReady: (() => Promise<void>) | undefined;
  /** Sessions this broker runs: the running executors, by session id. */
  private readonly runs = new Map<string, BrokerSessionRun>();
  private readonly heartbeats: DeadlineQueue<BrokerSessionRun>;
  private readonly expiries: DeadlineQueue<BrokerSessionRun>;
  private readonly runHost: BrokerSessionRunHost;
  private readonly startedAt = performance.now();
  private sessionsStarted = 0;
  private starting: Promise<SessionExecutor> | undefined;
  /** The executor once started (for what `health` reads of it). */
  private executor: SessionExecutor | undefined;
  private cluster: ClusterMember | undefined;
  private joining: Promise<ClusterMember> | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: SessionManagerOptions) {
    this.brokerId = options.brokerId;
    this.settings = options.settings;
    this.store = options.store;
    this.events = options.events;
    this.logger = options.logger;
    this.createExecutor = options.createExecutor;
    this.whenReady = options.whenReady;
    const interval = this.settings.heartbeatInterval;
    this.heartbeats = new DeadlineQueue<BrokerSessionRun>({
      coalesceMs: Math.min(HEARTBEAT_COALESCE_MAX_MS, Math.floor(interval * HEARTBEAT_COALESCE_SHARE)),
      onDue: (run) => {
        if (run.heartbeat()) this.heartbeats.add(run, Date.now() + interval);
      },
    });
    this.expiries = new DeadlineQueue<BrokerSessionRun>({
      onDue: (run) =>
        run.end(new EnclaveError('SESSION_EXPIRED', `Session ${run.id} passed its expiry time`)),
    });
    this.runHost = {
      store: this.store,
      tools: options.tools,
      toolHandler: options.toolHandler,
      events: this.events,
      logger: this.logger,
      expiryGrace: this.store.expiryGrace,
      approvalTimeout: this.settings.approvalTimeout,
      runEnded: (run) => {
        this.runs.delete(run.id);
      },
    };
  }

  /**
   * Opens the store and starts the runtime; resolves with the executor. A failure is thrown
   * (`STORE_UNAVAILABLE`, `RUNTIME_UNAVAILABLE`, `CONFIGURATION_ERROR`) and the next call tries again.
   */
  start(): Promise<SessionExecutor> {
    if (this.starting === undefined) {
      const starting = this.startOnce().then(
        async (executor) => {
          if (this.closing !== undefined) {
            await executor.close();
            throw shuttingDown();
          }
          this.executor = executor;
          return executor;
        },
        (error: unknown) => {
          this.starting = undefined;
          throw error;
        },
      );
      this.starting = starting;
    }
    return this.starting;
  }

  /** See `EnclaveBroker.startSession`. */
  async startSession(request: ExecuteRequest, caller?: AuthenticatedUser): Promise<Session> {
    return (await this.begin(request, caller, undefined)).session;
  }

  /**
   * Starts a session with `follower` attached to its run before anything is logged, so that it
   * gets every event from `session_init` on, however fast the code logs.
   */
  private async begin(
    request: ExecuteRequest,
    caller: AuthenticatedUser | undefined,
    follower: SessionFollower | undefined,
  ): Promise<{ session: Session; unfollow: () => void }> {
    const body = parseBody(ExecuteRequestSchema, request, 'execute request');
    const context = copyContext(body.context);
    this.assertOpen();
    await this.whenReady?.();
    const executor = await this.start();
    this.assertOpen();
    const now = Date.now();
    const id = `ses_${randomUUID().replaceAll('-', '')}`;
    // Before the session takes a slot: a client key that is not a P-256 point is refused here.
    const encryption =
      body.encryption === undefined
        ? undefined
        : await BrokerSessionEncryption.create(id, body.encryption.publicKey);
    const limits = this.limitsFor(body);
    const expiresAt = now + this.settings.sessionTimeout;
    const created = await this.store.createSession(
      {
        id,
        owner: this.brokerId,
        status: 'pending',
        createdAt: now,
        expiresAt,
        securityLevel: this.settings.securityLevel,
        limits,
        lastSeq: 0,
        stats: { durationMs: 0, cpuTimeMs: 0, toolCalls: 0, stdoutBytes: 0 },
        pendingToolCalls: [],
        pendingApprovals: [],
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
    const run = new BrokerSessionRun(this.runHost, {
      id,
      code: body.code,
      createdAt: now,
      expiresAt,
      securityLevel: this.settings.securityLevel,
      limits,
      context,
      user: caller,
      encryption,
      owner: this.brokerId,
    });
    this.runs.set(id, run);
    this.sessionsStarted++;
    this.expiries.add(run, expiresAt);
    const unfollow = follower === undefined ? () => undefined : run.follow(follower);
    const announced = run.announce();
    if (this.events.has('session:created')) this.events.emit('session:created', run.view());
    try {
      await announced;
    } catch (error) {
      unfollow();
      const failure = toEnclaveError(error);
      run.end(failure);
      throw failure;
    }
    run.start(executor);
    if (run.running) this.heartbeats.add(run, Date.now() + this.settings.heartbeatInterval);
    // Readers see the session running once this resolves.
    await run.flushed();
    return { session: run.view(), unfollow };
  }

  /** See `EnclaveBroker.streamEvents`. */
  streamEvents(sessionId: string, options: StreamEventsOptions = {}): AsyncIterable<StreamEvent> {
    return new SessionEventStream(
      (follower) => this.openEventSource(sessionId, options, follower),
      options.fromSeq ?? 1,
    );
  }

  /**
   * Starts a session when iteration starts and yields its events from `session_init` on (see
   * `EnclaveBroker.execute` and `executeRequest`); the filter is the request's `filter`.
   */
  execute(request: ExecuteRequest, caller?: AuthenticatedUser): AsyncIterable<StreamEvent> {
    return new SessionEventStream(async (follower) => {
      const { unfollow } = await this.begin(request, caller, follower);
      // begin validated the request, filter included.
      return { replay: [], complete: false, predicate: predicateOf(request.filter), unsubscribe: unfollow };
    }, 1);
  }

  /** See `EnclaveBroker.getSession`. */
  async getSession(sessionId: string, caller?: AuthenticatedUser): Promise<Session | null> {
    await this.ready();
    const session = await this.store.getSession(sessionId);
    if (session === null || !isVisible(session, caller)) return null;
    if (session.status === 'running' && session.startedAt !== undefined) {
      // The duration of a running session grows between writes; it is known at the end.
      session.stats = { ...session.stats, durationMs: Math.max(0, Date.now() - session.startedAt) };
    }
    return session;
  }

  /**
   * Answers a tool call the client owns, plain or sealed: the one path of every tool result. Throws
   * `SESSION_NOT_FOUND`, `ENCRYPTION_ERROR` (the answer's kind does not match the session, or a
   * sealed answer cannot be opened), `TOOL_CALL_NOT_FOUND`, `TOOL_CALL_ALREADY_ANSWERED` or
   * `SESSION_ENDED`.
   */
  async submitToolResult(
    sessionId: string,
    callId: string,
    answer: ToolAnswer,
    caller?: AuthenticatedUser,
  ): Promise<void> {
    const run = this.runs.get(sessionId);
    if (run?.visibleTo(caller)) {
      await answerToolCall(run, callId, answer);
      return;
    }
    const session = await this.getSession(sessionId, caller);
    if (session === null) throw sessionNotFound(sessionId);
    // A session this broker does not run has ended, or runs on another broker.
    if (!isActive(session) || session.owner === this.brokerId) throw sessionEnded(sessionId);
    await this.route(session, { type: 'tool-result', sessionId, callId, answer });
  }

  /**
   * Decides the approval of a tool call, plain or sealed: the one path of every decision, routed to
   * the broker running the session. `caller` is recorded as who decided. Throws
   * `SESSION_NOT_FOUND`, `ENCRYPTION_ERROR`, `APPROVAL_NOT_FOUND`, `APPROVAL_ALREADY_RESOLVED` or
   * `SESSION_ENDED`.
   */
  async submitApproval(
    sessionId: string,
    callId: string,
    answer: ApprovalAnswer,
    caller?: AuthenticatedUser,
  ): Promise<void> {
    const decidedBy = deciderOf(caller);
    const run = this.runs.get(sessionId);
    if (run?.visibleTo(caller)) {
      await answerApproval(run, callId, answer, decidedBy);
      return;
    }
    const session = await this.getSession(sessionId, caller);
    if (session === null) throw sessionNotFound(sessionId);
    if (!isActive(session) || session.owner === this.brokerId) throw sessionEnded(sessionId);
    await this.route(session, {
      type: 'approval',
      sessionId,
      callId,
      answer,
      ...(decidedBy === undefined ? {} : { decidedBy }),
    });
  }

  /** See `EnclaveBroker.cancelSession`. */
  async cancelSession(sessionId: string, caller?: AuthenticatedUser): Promise<Session> {
    const run = this.runs.get(sessionId);
    if (run?.visibleTo(caller)) {
      run.end(cancelled(sessionId));
      await run.flushed();
    } else {
      const session = await this.getSession(sessionId, caller);
      if (session === null) throw sessionNotFound(sessionId);
      if (!isActive(session) || session.owner === undefined || session.owner === this.brokerId)
        return session;
      try {
        await this.route(session, { type: 'cancel', sessionId });
      } catch (error) {
        // Its broker is lost: the session ends here, as that broker's loss, rather than wait for it.
        if (!EnclaveError.isInstance(error) || error.code !== 'BROKER_LOST') throw error;
        await this.endLostSession(sessionId, session.owner);
      }
    }
    const session = await this.getSession(sessionId, caller);
    if (session === null) throw sessionNotFound(sessionId);
    return session;
  }

  /** See `EnclaveBroker.health`. */
  health(): HealthResponse {
    return {
      status: 'ok',
      uptime: (performance.now() - this.startedAt) / 1000,
      sessions: {
        active: this.runs.size,
        total: this.sessionsStarted,
        parked: this.executor?.parkedSessions ?? 0,
      },
    };
  }

  /** Whether `close` was called. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Logs a `catalog_changed` event in every session this broker runs. */
  catalogChanged(change: CatalogChange): void {
    for (const run of this.runs.values()) run.catalogChanged(change);
  }

  /**
   * Ends every running session with `SHUTTING_DOWN` and waits until their ends are logged; new
   * sessions are refused from now on. Idempotent.
   */
  endAll(): Promise<void> {
    this.closing ??= this.endRuns();
    return this.closing;
  }

  /**
   * After {@link endAll}: stops the timers, closes the runtime and, when `closeStore` is set, the
   * store. Failures are collected, not thrown.
   */
  async close(closeStore: boolean): Promise<unknown[]> {
    await this.endAll();
    this.heartbeats.close();
    this.expiries.close();
    const failures: unknown[] = [];
    if (this.starting !== undefined) await this.starting.catch(() => undefined);
    if (this.joining !== undefined) await this.joining.catch(() => undefined);
    await this.cluster?.close().catch((failure: unknown) => failures.push(failure));
    if (this.starting !== undefined) {
      const executor = await this.starting.catch(() => undefined);
      if (executor !== undefined) await executor.close().catch((failure: unknown) => failures.push(failure));
    }
    if (closeStore) await this.store.close().catch((failure: unknown) => failures.push(failure));
    return failures;
  }

  private async endRuns(): Promise<void> {
    const error = shuttingDown();
    const runs = [...this.runs.values()];
    for (const run of runs) run.end(error);
    await Promise.all(runs.map((run) => run.flushed()));
  }

  /**
   * Opens the store and joins the brokers sharing it; what every read and routed request needs, and
   * no more (the runtime starts with the first session). A failure is thrown and the next call tries
   * again.
   */
  ready(): Promise<ClusterMember> {
    if (this.joining === undefined) {
      const joining = this.store.open().then(() =>
        ClusterMember.join({
          brokerId: this.brokerId,
          store: this.store,
          leaseMs: this.settings.leaseTimeout,
          logger: this.logger,
          onRequest: (request) => this.answerRequest(request),
          endLostSession: (sessionId, lostBrokerId) => this.endLostSession(sessionId, lostBrokerId),
        }),
      );
      this.joining = joining;
      joining.then(
        (cluster) => {
          this.cluster = cluster;
        },
        () => {
          if (this.joining === joining) this.joining = undefined;
        },
      );
    }
    return this.joining;
  }

  private async startOnce(): Promise<SessionExecutor> {
    await this.ready();
    try {
      return await this.createExecutor();
    } catch (error) {
      throw toEnclaveError(error, 'RUNTIME_UNAVAILABLE');
    }
  }

  /** What another broker asks of this one about a session this one runs. */
  private async answerRequest(request: BrokerRequest): Promise<BrokerReply> {
    try {
      const run = this.runs.get(request.sessionId);
      if (request.type === 'cancel') {
        if (run !== undefined) {
          run.end(cancelled(request.sessionId));
          await run.flushed();
        }
        return { ok: true };
      }
      if (run === undefined) throw sessionEnded(request.sessionId);
      if (request.type === 'approval') {
        await answerApproval(run, request.callId, request.answer, request.decidedBy);
      } else {
        await answerToolCall(run, request.callId, request.answer);
      }
      return { ok: true };
    } catch (error) {
      return { ok: false, error: toEnclaveError(error).toWire() };
    }
  }

  /**
   * Ends a session whose owner was lost with `error` + `final` (`BROKER_LOST`), unless it ended or
   * changed hands meanwhile. The append is conditional, so when several brokers try at once exactly
   * one succeeds.
   */
  private async endLostSession(sessionId: string, lostBrokerId: string): Promise<void> {
    for (let attempt = 0; attempt < LOST_SESSION_ATTEMPTS; attempt++) {
      const session = await this.store.getSession(sessionId);
      if (session === null || !isActive(session) || session.owner !== lostBrokerId) return;
      const { entries, changes } = lostOwnerEnding(session, Date.now());
      const outcome = await this.store.append(sessionId, entries, { changes });
      if (outcome === 'appended') {
        this.logger.warn('Ended a session whose broker was lost', { sessionId, lostBrokerId });
        return;
      }
      // Its owner logged more meanwhile (a late write): read it again and end it after that.
      if (outcome !== 'conflict') return;
    }
  }

  /**
   * Sends a request to the broker running `session` and throws what it answers. When that broker
   * cannot be reached the session has either ended meanwhile (`SESSION_ENDED`) or its owner is lost
   * (`BROKER_LOST`).
   */
  private async route(session: Session, request: BrokerRequest): Promise<void> {
    const owner = session.owner;
    if (owner === undefined) throw sessionEnded(session.id);
    const cluster = await this.ready();
    let reply: BrokerReply;
    try {
      reply = await cluster.request(owner, request);
    } catch (error) {
      const failure = toEnclaveError(error);
      if (failure.code === 'BROKER_LOST') {
        const current = await this.store.getSession(session.id);
        if (current === null || !isActive(current)) throw sessionEnded(session.id);
      }
      throw failure;
    }
    if (!reply.ok) throw EnclaveError.fromWire(reply.error);
  }

  private async openEventSource(
    sessionId: string,
    options: StreamEventsOptions,
    follower: SessionFollower,
  ): Promise<OpenedEventSource> {
    const fromSeq = options.fromSeq ?? 1;
    if (!Number.isSafeInteger(fromSeq) || fromSeq < 1) {
      throw new EnclaveError(
        'VALIDATION_ERROR',
        `fromSeq must be a positive integer, got ${String(fromSeq)}`,
      );
    }
    const predicate = predicateOf(options.filter);
    const run = this.runs.get(sessionId);
    if (run?.visibleTo(options.caller)) {
      // Run here: follow the run itself first, then read the log; entries that land in between come
      // twice and the stream drops the second copy by seq.
      const unsubscribe = run.follow(follower);
      try {
        const range = await this.store.readEvents(sessionId, fromSeq);
        if (!range.ok) throw truncated(sessionId, range.firstAvailableSeq);
        return { replay: range.entries, complete: false, predicate, unsubscribe };
      } catch (error) {
        unsubscribe();
        throw error;
      }
    }
    const session = await this.getSession(sessionId, options.caller);
    if (session === null) throw sessionNotFound(sessionId);
    const range = await this.store.readEvents(sessionId, fromSeq);
    if (!range.ok) throw truncated(sessionId, range.firstAvailableSeq);
    const replay = range.entries;
    const last = replay.at(-1);
    // Ended before the log was read: the replay holds its final, or the final came before fromSeq.
    if (isFinalEntry(last) || (!isActive(session) && session.lastSeq < fromSeq)) {
      return { replay, complete: true, predicate, unsubscribe: () => undefined };
    }
    // Entries after the last one read; when none was, from the record's last seq, so that a final
    // logged before fromSeq still ends the stream.
    const afterSeq = last?.seq ?? Math.min(fromSeq - 1, session.lastSeq);
    const unsubscribe = await this.store.subscribe(sessionId, afterSeq, follower);
    return { replay, complete: false, predicate, unsubscribe };
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

  private assertOpen(): void {
    if (this.closing !== undefined) throw shuttingDown();
  }
}

/** The predicate of a stream's filter; throws `VALIDATION_ERROR` for an invalid one. */
function predicateOf(filter: EventFilter | undefined): OpenedEventSource['predicate'] {
  if (filter === undefined) return undefined;
  const parsed = validate(EventFilterSchema, filter);
  if (!parsed.success) throw new EnclaveError('VALIDATION_ERROR', `Invalid filter: ${parsed.message}`);
  return createEventPredicate(parsed.data);
}

/** Checks an answer against the run's encryption, opens a sealed one, and hands it to the run. */
async function answerToolCall(run: BrokerSessionRun, callId: string, answer: ToolAnswer): Promise<void> {
  let outcome: ToolOutcome;
  if (answer.kind === 'plain') {
    if (run.encryption !== undefined) {
      throw new EnclaveError(
        'ENCRYPTION_ERROR',
        `Session ${run.id} is encrypted: its tool results must be sealed (send { callId, encrypted })`,
      );
    }
    outcome = toOutcome(answer.result, answer.error);
  } else {
    if (run.encryption === undefined) {
      throw new EnclaveError(
        'ENCRYPTION_ERROR',
        `Session ${run.id} is not encrypted: send the tool result as { callId, result } or { callId, error }`,
      );
    }
    const opened = await run.encryption.openToolResult(callId, answer.sealed);
    outcome = toOutcome(opened.result, opened.error);
  }
  run.submitClientResult(callId, outcome);
}

/** Checks a decision against the run's encryption, opens a sealed one, and hands it to the run. */
async function answerApproval(
  run: BrokerSessionRun,
  callId: string,
  answer: ApprovalAnswer,
  decidedBy: ApprovalDecider | undefined,
): Promise<void> {
  let decision: { approved: boolean; reason: string | undefined };
  if (answer.kind === 'plain') {
    if (run.encryption !== undefined) {
      throw new EnclaveError(
        'ENCRYPTION_ERROR',
        `Session ${run.id} is encrypted: its approvals must be sealed (send { callId, encrypted })`,
      );
    }
    decision = { approved: answer.approved, reason: answer.reason };
  } else {
    if (run.encryption === undefined) {
      throw new EnclaveError(
        'ENCRYPTION_ERROR',
        `Session ${run.id} is not encrypted: send the approval as { callId, approved, reason? }`,
      );
    }
    decision = await run.encryption.openApproval(callId, answer.sealed);
  }
  run.submitApproval(callId, { ...decision, decidedBy });
}

/** Who decided, as `approval_resolved` records it: the caller's user and tenant, when known. */
function deciderOf(caller: AuthenticatedUser | undefined): ApprovalDecider | undefined {
  if (caller === undefined) return undefined;
  const decider: ApprovalDecider = {};
  if (typeof caller.userId === 'string') decider.userId = caller.userId;
  if (typeof caller.tenantId === 'string') decider.tenantId = caller.tenantId;
  return decider.userId === undefined && decider.tenantId === undefined ? undefined : decider;
}

function toOutcome(result: unknown, error: ToolResultError | undefined): ToolOutcome {
  return error === undefined
    ? { ok: true, result }
    : { ok: false, error: { code: error.code ?? 'TOOL_ERROR', message: String(error.message) } };
}

function isActive(session: Session): boolean {
  return session.status === 'pending' || session.status === 'running';
}

/** A session is visible while unexpired, and to a caller only within the caller's tenant. */
function isVisible(session: Session, caller: AuthenticatedUser | undefined): boolean {
  if (Date.now() >= session.expiresAt) return false;
  return caller === undefined || caller.tenantId === session.user?.tenantId;
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
      `context: must be JSON-serializable (${error instanceof Error ? error.message : String(error)})`,
      { cause: error },
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

function sessionEnded(sessionId: string): EnclaveError {
  return new EnclaveError('SESSION_ENDED', `Session ${sessionId} has already ended`);
}

function cancelled(sessionId: string): EnclaveError {
  return new EnclaveError('CANCELLED', `Session ${sessionId} was cancelled`);
}

function shuttingDown(): EnclaveError {
  return new EnclaveError('SHUTTING_DOWN', 'The broker is shutting down');
}
