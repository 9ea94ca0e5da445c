import type { ExecutionHandle, SessionExecutor, ToolOutcome } from '@enclave-vm/runtime';
import {
  type ApprovalDecider,
  type CatalogChange,
  createEvent,
  EnclaveError,
  type EventPayloadMap,
  type EventType,
  type ExecutionStats,
  type FinalPayload,
  type Logger,
  type RuntimeEvent,
  type SecurityLevel,
  type SessionLimits,
  type SessionStatus,
  type StreamEvent,
  toEnclaveError,
  type WireError,
} from '@enclave-vm/types';
import type { BrokerEventEmitter } from '../broker-events.js';
import { isPlainObject } from '../tools/parameter-arguments.js';
import type { ToolRegistry } from '../tools/tool-registry.js';
import type { AuthenticatedUser, ExecutionContext, ToolHandler } from '../tools/tool-types.js';
import type { BrokerSessionEncryption } from './broker-session-encryption.js';
import { LazyAbortController } from './lazy-abort-controller.js';
import { type LoggedEvent, loggedEvent } from './logged-event.js';
import { lostOwnerEvents } from './lost-owner.js';
import type { Session } from './session.js';
import type { SessionChanges, SessionFollower, SessionStore } from './session-store.js';
import { SessionWriter, type WriterLoss } from './session-writer.js';

/** What a {@link BrokerSessionRun} needs from its broker. */
export interface BrokerSessionRunHost {
  readonly store: SessionStore;
  readonly tools: ToolRegistry;
  readonly toolHandler: ToolHandler | undefined;
  readonly events: BrokerEventEmitter;
  readonly logger: Logger;
  /** How long after `expiresAt` the store keeps a session: failed writes are retried until then. */
  readonly expiryGrace: number;
  /** Ms a tool call needing approval waits for a decision before it fails with `APPROVAL_TIMEOUT`. */
  readonly approvalTimeout: number;
  /** Called once, when the run has ended (its `final` was handed to the log, or the log was lost). */
  runEnded(run: BrokerSessionRun): void;
}

/** The fixed facts of a session a {@link BrokerSessionRun} runs. */
export interface BrokerSessionRunInit {
  id: string;
  code: string;
  createdAt: number;
  expiresAt: number;
  securityLevel: SecurityLevel;
  limits: SessionLimits;
  /** Deep-frozen JSON copy of the request's context. */
  context: Readonly<Record<string, unknown>>;
  user: AuthenticatedUser | undefined;
  /** Set when the client asked for end-to-end encryption: every event after `session_init` is sealed. */
  encryption?: BrokerSessionEncryption;
  /** Id of the broker running it. */
  owner: string;
}

/** A tool call waiting for its answer. */
interface PendingCall {
  readonly toolName: string;
  readonly answeredBy: 'broker' | 'client';
  readonly startedAt: number;
  /** The tool timeout, or while the call waits for approval the approval timeout. */
  timer: NodeJS.Timeout;
  /** Broker-answered calls only: aborted when the call is no longer wanted. */
  readonly controller: LazyAbortController | undefined;
  /** Set while the call waits for a person's approval. */
  approval: PendingApproval | undefined;
}

/** A call's wait for a decision on its approval. */
interface PendingApproval {
  /** `performance.now()` when `approval_required` was logged. */
  readonly requestedAt: number;
  /** Lets the tool run. */
  readonly approve: () => void;
  /** Fails the call with this error (`APPROVAL_DENIED`, `APPROVAL_TIMEOUT`, or why the run ended). */
  readonly refuse: (error: EnclaveError) => void;
}

/** A decision on an approval, as {@link BrokerSessionRun.submitApproval} takes it. */
export interface ApprovalDecision {
  approved: boolean;
  reason?: string | undefined;
  /** Who decided, when known. */
  decidedBy?: ApprovalDecider | undefined;
}

const EMPTY_PAYLOAD = Object.freeze({});

/** How much later than the broker the runtime times out a tool call. */
const RUNTIME_TOOL_TIMEOUT_GRACE_MS = 1_000;

/**
 * One session as this broker runs it: the running executor's side of a session. It numbers the
 * events, logs them and the record's changes through its {@link SessionWriter} (the store is the
 * only record of the session), answers or forwards its tool calls, enforces the tool timeout and ends
 * it exactly once with `final` (preceded by `error` when it fails). When the store refuses its
 * writes (another broker ended the session, or it was removed) the run stops without logging more.
 */
export class BrokerSessionRun {
  readonly id: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly limits: SessionLimits;
  readonly user: AuthenticatedUser | undefined;
  /** The session's keys when it is encrypted. */
  readonly encryption: BrokerSessionEncryption | undefined;
  private readonly init: BrokerSessionRunInit;
  private status: SessionStatus = 'pending';
  private seq = 0;
  private startedAt = 0;
  private toolCalls = 0;
  private stdoutBytes = 0;
  private handle: ExecutionHandle | undefined;
  private readonly pendingCalls = new Map<string, PendingCall>();
  private readonly answeredCalls = new Set<string>();
  /** Calls whose approval was decided (or timed out). */
  private readonly resolvedApprovals = new Set<string>();
  private fatalErrorLogged = false;
  private isEnded = false;
  private completedAt: number | undefined;
  private result: unknown;
  private error: WireError | undefined;
  private finalStats: ExecutionStats | undefined;
  private readonly writer: SessionWriter;
  /** Followers of this run's log in this process, fed once each batch is stored. */
  private readonly followers = new Set<SessionFollower>();

  constructor(
    private readonly host: BrokerSessionRunHost,
    init: BrokerSessionRunInit,
  ) {
    this.init = init;
    this.id = init.id;
    this.createdAt = init.createdAt;
    this.expiresAt = init.expiresAt;
    this.limits = init.limits;
    this.user = init.user;
    this.encryption = init.encryption;
    this.writer = new SessionWriter({
      store: host.store,
      sessionId: init.id,
      logger: host.logger,
      retryUntil: init.expiresAt + host.expiryGrace,
      onLost: (loss) => this.abandon(loss),
      onStored: (entries) => this.deliver(entries),
      onStalled: () => this.cutFollowers(storeNotAnswering(init.id)),
      ...(init.encryption === undefined ? {} : { ending: (lastSeq: number) => this.sealedEnding(lastSeq) }),
    });
  }

  /** Whether the run has logged its `final`. */
  get ended(): boolean {
    return this.isEnded;
  }

  /** Whether the run is executing (heartbeats are due). */
  get running(): boolean {
    return this.status === 'running' && !this.isEnded;
  }

  /**
   * Whether `caller` may see the session: while unexpired, and only within the tenant of the user
   * who started it (any caller when authentication is off).
   */
  visibleTo(caller: AuthenticatedUser | undefined): boolean {
    if (Date.now() >= this.expiresAt) return false;
    return caller === undefined || caller.tenantId === this.user?.tenantId;
  }

  /**
   * Delivers every entry of this run stored from now on to `follower`, in order, straight from this
   * process (followers on the broker running a session need no round trip through the store, and
   * never fall behind a bounded log). Returns the function that stops the delivery.
   */
  follow(follower: SessionFollower): () => void {
    this.followers.add(follower);
    return () => {
      this.followers.delete(follower);
    };
  }

  private deliver(entries: readonly LoggedEvent[]): void {
    for (const follower of this.followers) {
      for (const entry of entries) {
        try {
          follower.next(entry);
        } catch {
          // One failing follower must not keep the entries from the others.
        }
      }
    }
  }

  /** Resolves once everything the run has logged so far is in the store (or was refused). */
  flushed(): Promise<void> {
    return this.writer.flushed();
  }

  /**
   * The session as this run sees it, for the broker's event listeners (`session:created`,
   * `tool:called`, …), which are called synchronously as things happen. Readers of the session go to
   * the store instead.
   */
  view(): Session {
    return {
      id: this.id,
      status: this.status,
      createdAt: this.createdAt,
      expiresAt: this.expiresAt,
      ...(this.startedAt === 0 ? {} : { startedAt: this.startedAt }),
      ...(this.completedAt === undefined ? {} : { completedAt: this.completedAt }),
      securityLevel: this.init.securityLevel,
      limits: this.limits,
      lastSeq: this.seq,
      stats: this.stats(),
      pendingToolCalls: this.clientCallIds(),
      pendingApprovals: this.approvalCallIds(),
      ...(this.user === undefined ? {} : { user: this.user }),
      ...(this.status === 'completed' ? { result: this.result } : {}),
      ...(this.error === undefined ? {} : { error: this.error }),
      owner: this.init.owner,
    };
  }

  /** Logs `session_init` (seq 1); resolves once it is in the store. */
  announce(): Promise<void> {
    const event = createEvent(this.id, ++this.seq, 'session_init', {
      limits: this.limits,
      securityLevel: this.init.securityLevel,
      expiresAt: this.expiresAt,
      resumeUrl: `/sessions/${this.id}/events`,
      cancelUrl: `/sessions/${this.id}`,
      ...(this.encryption === undefined ? {} : { encryption: this.encryption.params }),
    });
    // session_init stays plain: it carries the keys' public half the client needs to open the rest.
    return this.writer.write(loggedEvent(event));
  }

  /** Hands the code to the executor. Does nothing once the run has ended. */
  start(executor: SessionExecutor): void {
    if (this.isEnded) return;
    this.status = 'running';
    this.startedAt = Date.now();
    this.record({ status: 'running', startedAt: this.startedAt });
    try {
      this.handle = executor.execute(
        {
          sessionId: this.id,
          code: this.init.code,
          limits: this.runtimeLimits(),
          context: this.init.context,
        },
        (event) => this.handleRuntimeEvent(event),
      );
    } catch (error) {
      this.end(toEnclaveError(error, 'RUNTIME_UNAVAILABLE'));
    }
  }

  /**
   * The limits handed to the runtime. The broker answers every tool call within `toolTimeout`
   * itself (so the answer is logged as `tool_result_applied` and a broker tool's signal is aborted);
   * the runtime's own tool timer is only a backstop, set a little later so that it never wins.
   */
  private runtimeLimits(): SessionLimits {
    // A call that needs approval may take the tool timeout to decide that it does, the approval
    // timeout to get a decision, then the tool timeout to run.
    const longestCall = 2 * this.limits.toolTimeout + this.host.approvalTimeout;
    return { ...this.limits, toolTimeout: longestCall + RUNTIME_TOOL_TIMEOUT_GRACE_MS };
  }

  /** Logs a heartbeat while running; returns whether one was logged. */
  heartbeat(): boolean {
    if (!this.running) return false;
    this.emit('heartbeat', EMPTY_PAYLOAD);
    return true;
  }

  /** Logs a `catalog_changed` event, unless the run has not been announced yet or has ended. */
  catalogChanged(change: CatalogChange): void {
    if (this.seq === 0 || this.isEnded) return;
    this.emit('catalog_changed', change);
  }

  /**
   * Answers a tool call the client owns. Throws `SESSION_ENDED`, `TOOL_CALL_ALREADY_ANSWERED` (also
   * after the tool timeout answered it) or `TOOL_CALL_NOT_FOUND`.
   */
  submitClientResult(callId: string, outcome: ToolOutcome): void {
    if (this.isEnded) throw new EnclaveError('SESSION_ENDED', `Session ${this.id} has already ended`);
    if (this.answeredCalls.has(callId)) {
      throw new EnclaveError('TOOL_CALL_ALREADY_ANSWERED', `Tool call ${callId} already has a result`);
    }
    const pending = this.pendingCalls.get(callId);
    if (pending === undefined || pending.answeredBy !== 'client') {
      throw new EnclaveError(
        'TOOL_CALL_NOT_FOUND',
        `Session ${this.id} has no tool call ${callId} waiting for the client`,
      );
    }
    this.answer(callId, outcome);
  }

  /**
   * Decides the approval of a call waiting for one: approved, the tool runs; denied, the call
   * throws `APPROVAL_DENIED` (with the reason) inside the code. Logs `approval_resolved`. Throws
   * `SESSION_ENDED`, `APPROVAL_ALREADY_RESOLVED` (also after the approval timed out) or
   * `APPROVAL_NOT_FOUND`.
   */
  submitApproval(callId: string, decision: ApprovalDecision): void {
    if (this.isEnded) throw new EnclaveError('SESSION_ENDED', `Session ${this.id} has already ended`);
    if (this.resolvedApprovals.has(callId)) {
      throw new EnclaveError(
        'APPROVAL_ALREADY_RESOLVED',
        `The approval of tool call ${callId} was already decided`,
      );
    }
    const pending = this.pendingCalls.get(callId);
    if (pending?.approval === undefined) {
      throw new EnclaveError(
        'APPROVAL_NOT_FOUND',
        `Session ${this.id} has no tool call ${callId} waiting for approval`,
      );
    }
    this.resolveApproval(callId, pending, pending.approval, decision, false);
  }

  /**
   * Ends the run here with `error` + `final` carrying `error` (cancel, expiry, shutdown): the
   * runtime is told to stop and whatever it sends afterwards is ignored. No effect once ended.
   */
  end(error: EnclaveError): void {
    if (this.isEnded) return;
    this.handle?.cancel(error.message);
    const wire = { code: error.code, message: error.message };
    this.emit('error', { code: wire.code, message: wire.message, recoverable: false });
    this.finish({ ok: false, error: wire, stats: this.stats() });
  }

  /** Logs an event, with the record changes it implies. A refused write is reported by `abandon`. */
  private emit<Type extends EventType>(
    type: Type,
    payload: EventPayloadMap[Type],
    changes?: SessionChanges,
  ): StreamEvent {
    const event = createEvent(this.id, ++this.seq, type, payload);
    const entry = this.encryption === undefined ? loggedEvent(event) : this.encryption.seal(event);
    this.writer.write(entry, changes).then(undefined, () => undefined);
    return event;
  }

  /**
   * The sealed `error` + `final` (`BROKER_LOST`) that follow `lastSeq`: what another broker logs if
   * this one dies, since the keys never leave this broker.
   */
  private sealedEnding(lastSeq: number): Promise<LoggedEvent[]> {
    const encryption = this.encryption as BrokerSessionEncryption;
    return Promise.all(
      lostOwnerEvents(this.id, lastSeq, this.stats()).map((event) => encryption.seal(event)),
    );
  }

  /** Changes the record without logging an event. */
  private record(changes: SessionChanges): void {
    this.writer.write(undefined, changes).then(undefined, () => undefined);
  }

  /**
   * The store refused the run's writes: another broker ended the session (its owner was thought
   * lost), or the session is gone from the store. The run stops here without logging anything more;
   * the broker's listeners hear of it through `session:error`.
   */
  private abandon(loss: WriterLoss): void {
    if (this.isEnded) return;
    this.isEnded = true;
    this.completedAt = Date.now();
    this.status = 'error';
    const reason = abandonReason(this.id, loss);
    this.error = reason.toWire();
    this.host.logger.warn('A session stopped running here: the session store refused its events', {
      sessionId: this.id,
      reason: loss,
    });
    this.handle?.cancel(reason.message);
    for (const pending of this.pendingCalls.values()) {
      clearTimeout(pending.timer);
      pending.controller?.abort(reason);
      pending.approval?.refuse(reason);
    }
    this.pendingCalls.clear();
    this.host.runEnded(this);
    // Local followers are cut with a retryable error where the end is in the store: resuming reads it.
    this.cutFollowers(reason);
    void this.reportAbandoned(reason);
  }

  /**
   * Ends the local followers' streams with `error`: the store cannot take the run's writes now, or
   * took them away. The run itself goes on; a follower resumes from the store.
   */
  private cutFollowers(error: EnclaveError): void {
    const followers = [...this.followers];
    this.followers.clear();
    for (const follower of followers) {
      try {
        follower.fail(error);
      } catch {
        // A failing follower must not keep the others from hearing of it.
      }
    }
  }

  private async reportAbandoned(reason: EnclaveError): Promise<void> {
    const events = this.host.events;
    if (!events.has('session:error')) return;
    // The error the session ended with, as whoever ended it logged it.
    const record = await this.host.store.getSession(this.id).catch(() => null);
    const error = record?.error === undefined ? reason : EnclaveError.fromWire(record.error);
    if (record?.error !== undefined) this.error = record.error;
    events.emit('session:error', this.view(), error);
  }

  private handleRuntimeEvent(event: RuntimeEvent): void {
    if (this.isEnded) return;
    switch (event.type) {
      case 'stdout':
        this.stdoutBytes += Buffer.byteLength(event.payload.chunk);
        this.emit('stdout', event.payload, { stats: this.stats() });
        return;
      case 'log':
        this.stdoutBytes += Buffer.byteLength(event.payload.message);
        this.emit('log', event.payload, { stats: this.stats() });
        return;
      case 'tool_call':
        this.handleToolCall(event.payload.callId, event.payload.toolName, event.payload.args);
        return;
      case 'error':
        if (!event.payload.recoverable) this.fatalErrorLogged = true;
        this.emit('error', event.payload);
        return;
      case 'final':
        if (!event.payload.ok && !this.fatalErrorLogged) {
          // Every failed run's `error` event comes before its `final`.
          const error = event.payload.error ?? { code: 'INTERNAL_ERROR', message: 'The run failed' };
          this.emit('error', { code: error.code, message: error.message, recoverable: false });
        }
        this.finish(event.payload);
        return;
    }
  }

  private handleToolCall(callId: string, toolName: string, args: unknown): void {
    this.toolCalls++;
    const { tools, toolHandler } = this.host;
    const answeredBy = tools.has(toolName) || toolHandler !== undefined ? 'broker' : 'client';
    const controller = answeredBy === 'broker' ? new LazyAbortController() : undefined;
    const timer = setTimeout(() => this.timeOut(callId), this.limits.toolTimeout);
    timer.unref();
    this.pendingCalls.set(callId, {
      toolName,
      answeredBy,
      startedAt: performance.now(),
      timer,
      controller,
      approval: undefined,
    });
    // Whoever sees the call in the log also sees it among the record's pending calls.
    this.emit(
      'tool_call',
      { callId, toolName, args, answeredBy },
      { pendingToolCalls: this.clientCallIds(), stats: this.stats() },
    );
    if (this.host.events.has('tool:called')) {
      this.host.events.emit('tool:called', this.view(), toolName, args, { callId, answeredBy });
    }
    if (controller === undefined) return;
    const context: ExecutionContext = {
      sessionId: this.id,
      callId,
      toolName,
      context: this.init.context,
      ...(this.user === undefined ? {} : { user: this.user }),
      get signal() {
        return controller.signal;
      },
    };
    this.runBrokerCall(toolName, args, context).then(
      (result) => this.answer(callId, { ok: true, result }),
      (error: unknown) =>
        this.answer(callId, { ok: false, error: toEnclaveError(error, 'TOOL_ERROR').toWire() }),
    );
  }

  /**
   * A broker-answered call: when its tool requires approval (for these arguments), waits for the
   * decision first; then runs the tool.
   */
  private async runBrokerCall(toolName: string, args: unknown, context: ExecutionContext): Promise<unknown> {
    const { tools } = this.host;
    const requirement = tools.get(toolName)?.requiresApproval;
    if (requirement !== undefined && requirement !== false) {
      if (await tools.requiresApproval(toolName, args, context)) {
        await this.awaitApproval(context.callId, toolName, args);
      }
    }
    return this.runBrokerTool(toolName, args, context);
  }

  /**
   * Logs `approval_required` and resolves once the call is approved; rejects with
   * `APPROVAL_DENIED` or `APPROVAL_TIMEOUT`, or when the call is no longer wanted (the run ended, the
   * tool timeout passed while the requirement was decided).
   */
  private awaitApproval(callId: string, toolName: string, args: unknown): Promise<void> {
    const pending = this.pendingCalls.get(callId);
    if (pending === undefined || this.isEnded) {
      return Promise.reject(new EnclaveError('SESSION_ENDED', `Tool call ${callId} is no longer wanted`));
    }
    return new Promise<void>((resolve, reject) => {
      const approval: PendingApproval = {
        requestedAt: performance.now(),
        approve: resolve,
        refuse: reject,
      };
      pending.approval = approval;
      clearTimeout(pending.timer);
      const timeout = this.host.approvalTimeout;
      pending.timer = setTimeout(() => this.approvalTimedOut(callId), timeout);
      pending.timer.unref();
      this.emit(
        'approval_required',
        { callId, toolName, args, expiresAt: Date.now() + timeout },
        { pendingApprovals: this.approvalCallIds() },
      );
      if (this.host.events.has('approval:required')) {
        this.host.events.emit('approval:required', this.view(), toolName, args, { callId });
      }
    });
  }

  private approvalTimedOut(callId: string): void {
    const pending = this.pendingCalls.get(callId);
    if (pending?.approval === undefined || this.isEnded) return;
    this.resolveApproval(callId, pending, pending.approval, { approved: false }, true);
  }

  /** Logs `approval_resolved` and lets the call go on: to the tool, or to its error. */
  private resolveApproval(
    callId: string,
    pending: PendingCall,
    approval: PendingApproval,
    decision: ApprovalDecision,
    timedOut: boolean,
  ): void {
    pending.approval = undefined;
    this.resolvedApprovals.add(callId);
    clearTimeout(pending.timer);
    const approved = decision.approved && !timedOut;
    const reason = decision.reason;
    const decidedBy = decision.decidedBy;
    this.emit(
      'approval_resolved',
      {
        callId,
        toolName: pending.toolName,
        approved,
        ...(reason === undefined ? {} : { reason }),
        ...(decidedBy === undefined ? {} : { decidedBy }),
        ...(timedOut ? { timedOut: true as const } : {}),
        waitedMs: Math.max(0, performance.now() - approval.requestedAt),
      },
      { pendingApprovals: this.approvalCallIds() },
    );
    if (this.host.events.has('approval:resolved')) {
      this.host.events.emit('approval:resolved', this.view(), pending.toolName, {
        callId,
        approved,
        ...(reason === undefined ? {} : { reason }),
        ...(decidedBy === undefined ? {} : { decidedBy }),
        timedOut,
      });
    }
    if (approved) {
      // The tool gets its whole tool timeout from now on.
      pending.timer = setTimeout(() => this.timeOut(callId), this.limits.toolTimeout);
      pending.timer.unref();
      approval.approve();
      return;
    }
    approval.refuse(
      timedOut
        ? new EnclaveError(
            'APPROVAL_TIMEOUT',
            `Tool ${pending.toolName} got no decision on its approval within ${this.host.approvalTimeout} ms`,
          )
        : new EnclaveError(
            'APPROVAL_DENIED',
            reason === undefined || reason === ''
              ? `The call of tool ${pending.toolName} was denied`
              : `The call of tool ${pending.toolName} was denied: ${reason}`,
            reason === undefined ? {} : { details: { reason } },
          ),
    );
  }

  private async runBrokerTool(toolName: string, args: unknown, context: ExecutionContext): Promise<unknown> {
    const { tools, toolHandler } = this.host;
    if (tools.has(toolName) || toolHandler === undefined) return tools.call(toolName, args, context);
    const input = args === undefined ? {} : args;
    if (!isPlainObject(input)) {
      throw new EnclaveError(
        'TOOL_VALIDATION_ERROR',
        `Invalid arguments for tool ${toolName}: (root): expected an object`,
      );
    }
    try {
      return await toolHandler(input, context);
    } catch (error) {
      if (EnclaveError.isInstance(error)) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new EnclaveError('TOOL_ERROR', `Tool ${toolName} failed: ${message}`, { cause: error });
    }
  }

  private timeOut(callId: string): void {
    const pending = this.pendingCalls.get(callId);
    if (pending === undefined) return;
    const waitedFor = pending.answeredBy === 'client' ? 'the client' : 'the tool';
    this.answer(callId, {
      ok: false,
      error: {
        code: 'TOOL_TIMEOUT',
        message: `Tool ${pending.toolName} got no answer from ${waitedFor} within ${this.limits.toolTimeout} ms`,
      },
    });
  }

  /** Hands an outcome to the guest and logs `tool_result_applied`. Ignored once answered or ended. */
  private answer(callId: string, outcome: ToolOutcome): void {
    const pending = this.pendingCalls.get(callId);
    if (pending === undefined || this.isEnded) return;
    this.pendingCalls.delete(callId);
    this.answeredCalls.add(callId);
    clearTimeout(pending.timer);
    if (pending.approval !== undefined) {
      pending.approval.refuse(
        new EnclaveError('TOOL_CALL_ALREADY_ANSWERED', `Tool call ${callId} was answered`),
      );
      pending.approval = undefined;
    }
    const applied = outcome.ok ? this.checkResult(pending.toolName, outcome.result) : outcome;
    if (!applied.ok && pending.controller !== undefined && !pending.controller.aborted) {
      pending.controller.abort(EnclaveError.fromWire(applied.error));
    }
    try {
      this.handle?.submitToolResult(callId, applied);
    } catch (error) {
      // The runtime no longer waits for this call (its run is ending); the guest never sees it.
      this.host.logger.debug('The runtime refused a tool result', {
        sessionId: this.id,
        callId,
        error: error instanceof Error ? error.message : String(error),
      });
      return;
    }
    const durationMs = Math.max(0, performance.now() - pending.startedAt);
    this.emit(
      'tool_result_applied',
      applied.ok
        ? { callId, toolName: pending.toolName, ok: true, durationMs, result: applied.result }
        : { callId, toolName: pending.toolName, ok: false, durationMs, error: applied.error },
      pending.answeredBy === 'client'
        ? { pendingToolCalls: this.clientCallIds(), stats: this.stats() }
        : undefined,
    );
    if (this.host.events.has('tool:completed')) {
      this.host.events.emit(
        'tool:completed',
        this.view(),
        pending.toolName,
        applied.ok ? applied.result : undefined,
        {
          callId,
          answeredBy: pending.answeredBy,
          ok: applied.ok,
          durationMs,
          ...(applied.ok ? {} : { error: applied.error }),
        },
      );
    }
  }

  /** A result as the guest will see it: its JSON form, within `maxToolResultBytes`. */
  private checkResult(toolName: string, result: unknown): ToolOutcome {
    if (result === undefined) return { ok: true, result: undefined };
    let text: string | undefined;
    try {
      text = JSON.stringify(result);
    } catch (error) {
      return {
        ok: false,
        error: {
          code: 'TOOL_ERROR',
          message: `Tool ${toolName} returned a value that is not JSON: ${String(error)}`,
        },
      };
    }
    if (text === undefined) return { ok: true, result: undefined };
    const size = Buffer.byteLength(text);
    if (size > this.limits.maxToolResultBytes) {
      return {
        ok: false,
        error: {
          code: 'TOOL_RESULT_TOO_LARGE',
          message: `Tool ${toolName} returned ${size} bytes of JSON, more than the ${this.limits.maxToolResultBytes} allowed`,
        },
      };
    }
    return { ok: true, result: JSON.parse(text) };
  }

  private finish(payload: FinalPayload): void {
    this.isEnded = true;
    this.completedAt = Date.now();
    this.status = payload.ok ? 'completed' : 'error';
    this.finalStats = payload.stats;
    if (payload.ok) this.result = payload.result;
    else this.error = payload.error ?? { code: 'INTERNAL_ERROR', message: 'The run failed' };
    if (this.pendingCalls.size > 0) {
      const abortReason = payload.ok
        ? new EnclaveError('SESSION_ENDED', `Session ${this.id} ended before the tool answered`)
        : EnclaveError.fromWire(this.error as WireError);
      for (const pending of this.pendingCalls.values()) {
        clearTimeout(pending.timer);
        pending.controller?.abort(abortReason);
        pending.approval?.refuse(abortReason);
      }
    }
    this.pendingCalls.clear();
    this.emit('final', payload, {
      status: this.status,
      completedAt: this.completedAt,
      stats: payload.stats,
      pendingToolCalls: [],
      pendingApprovals: [],
      ...(payload.ok ? { result: payload.result } : { error: this.error }),
    });
    this.host.runEnded(this);
    const events = this.host.events;
    if (payload.ok) {
      if (events.has('session:completed')) events.emit('session:completed', this.view(), payload.result);
    } else if (events.has('session:error')) {
      events.emit('session:error', this.view(), EnclaveError.fromWire(this.error as WireError));
    }
  }

  private stats(): ExecutionStats {
    if (this.finalStats !== undefined) return { ...this.finalStats };
    return {
      durationMs: this.startedAt === 0 ? 0 : Date.now() - this.startedAt,
      cpuTimeMs: 0,
      toolCalls: this.toolCalls,
      stdoutBytes: this.stdoutBytes,
    };
  }

  private approvalCallIds(): string[] {
    const ids: string[] = [];
    for (const [callId, pending] of this.pendingCalls) if (pending.approval !== undefined) ids.push(callId);
    return ids;
  }

  private clientCallIds(): string[] {
    const ids: string[] = [];
    for (const [callId, pending] of this.pendingCalls) if (pending.answeredBy === 'client') ids.push(callId);
    return ids;
  }
}

/** Why a run stopped when the store refused its writes, as its followers and listeners hear it. */
function abandonReason(sessionId: string, loss: WriterLoss): EnclaveError {
  switch (loss) {
    case 'ended':
      // This broker lost its lease and another one ended the session: its end is in the store.
      return new EnclaveError(
        'BROKER_LOST',
        `Session ${sessionId} was ended by another broker while this one could not renew its lease; resume to read its end`,
      );
    case 'missing':
      return new EnclaveError('SESSION_NOT_FOUND', `Session ${sessionId} is no longer in the session store`);
    case 'conflict':
      return new EnclaveError('INTERNAL_ERROR', `Another writer logged events of session ${sessionId}`);
    case 'failed':
      return new EnclaveError('STORE_UNAVAILABLE', `The events of session ${sessionId} could not be logged`);
  }
}

/** Why local followers are cut while the store does not answer. */
function storeNotAnswering(sessionId: string): EnclaveError {
  return new EnclaveError(
    'STORE_UNAVAILABLE',
    `The session store does not answer; session ${sessionId} goes on, and its events can be resumed once it is back`,
  );
}
