import { resumable } from '@enclave-vm/stream';
import {
  type ApprovalDecisionRequest,
  CancelSessionResponseSchema,
  EnclaveError,
  type ExecuteRequest,
  type FinalEvent,
  SessionInfoSchema,
  type StreamEvent,
  type ToolResultRequest,
  toEnclaveError,
  validate,
} from '@enclave-vm/types';
import { ApprovalRunner, type SentDecision } from '../approvals/approval-runner.js';
import type { FollowOptions } from '../client-execute-options.js';
import { ClientSessionEncryption } from '../encryption/client-session-encryption.js';
import type { ExecutionOutcome } from '../execution-outcome.js';
import type { ExecutionSession } from '../execution-session.js';
import type { BrokerHttp } from '../http/broker-http.js';
import { reportError } from '../shared/report-error.js';
import { createSessionStore, type SessionRecorder, type SessionStore } from '../store/session-store.js';
import type { ClientTools } from '../tools/client-tool.js';
import { ClientToolRunner, type ToolAnswer } from '../tools/client-tool-runner.js';
import type { EventSource, EventSourceContext } from '../transport/event-source.js';
import { NDJSON_MIME_TYPE } from '../transport/http-event-source.js';
import { checkEnvelopes, type Envelope } from './event-envelope.js';
import { EventIntake } from './event-intake.js';
import { EventLog } from './event-log.js';
import { type EventSelection, selectEvents } from './event-selection.js';

/** The execute body without `filter` and `encryption`, which the run adds. */
export type ExecuteRequestBody = Omit<ExecuteRequest, 'filter' | 'encryption'>;

/** How a {@link ClientSessionRun} begins: a new session, or one that already exists. */
export type SessionStart =
  | {
      kind: 'execute';
      request: ExecuteRequestBody;
      encrypt: boolean;
    }
  | { kind: 'resume'; sessionId: string; fromSeq: number; keyPair: CryptoKeyPair | undefined };

/** Everything a {@link ClientSessionRun} needs from its client. */
export interface ClientSessionRunSetup {
  http: BrokerHttp;
  start: SessionStart;
  options: FollowOptions;
  /** The client's tools merged with the call's. */
  tools: ClientTools;
  /** Makes the source the session's events are read from (HTTP or WebSocket). */
  createSource: (context: EventSourceContext) => EventSource;
  heartbeatTimeout: number;
}

/** Codes of a refused decision of `onApproval` that only mean it is no longer needed. */
const STALE_DECISION_CODES: ReadonlySet<string> = new Set([
  'APPROVAL_ALREADY_RESOLVED',
  'APPROVAL_NOT_FOUND',
  'SESSION_ENDED',
  'CANCELLED',
]);

/** Codes of a refused tool result that only mean the answer is no longer needed. */
const STALE_ANSWER_CODES: ReadonlySet<string> = new Set([
  'TOOL_CALL_ALREADY_ANSWERED',
  'TOOL_CALL_NOT_FOUND',
  'SESSION_ENDED',
  'CANCELLED',
]);

/**
 * One session followed by the client: starts or resumes it, reads its events from its source
 * through the wire's resumable reader (which resumes, de-duplicates and orders them), opens them
 * when encrypted, answers client tools, and feeds the handle's iteration, `events`, callbacks,
 * store and `result`.
 */
export class ClientSessionRun implements ExecutionSession {
  readonly ready: Promise<string>;
  readonly result: Promise<ExecutionOutcome>;
  readonly store: SessionStore;
  private readonly setup: ClientSessionRunSetup;
  private readonly log = new EventLog();
  private readonly recorder: SessionRecorder;
  private readonly selection: EventSelection;
  private readonly stopController = new AbortController();
  private readonly toolRunner: ClientToolRunner;
  private readonly approvalRunner: ApprovalRunner | undefined;
  private readonly onSignalAbort: (() => void) | undefined;
  private intake: EventIntake = new EventIntake();
  private encryption: ClientSessionEncryption | undefined;
  private currentSessionId: string | undefined;
  private finished = false;
  /** For a resumed session: calls answered before the resume, which must not run again. */
  private answeredBefore: ((callId: string, seq: number) => boolean) | undefined;
  /** For a resumed session: approvals decided before the resume, which must not be asked again. */
  private decidedBefore: ((callId: string, seq: number) => boolean) | undefined;
  private resolveReady!: (sessionId: string) => void;
  private rejectReady!: (error: EnclaveError) => void;
  private resolveResult!: (outcome: ExecutionOutcome) => void;
  private rejectResult!: (error: EnclaveError) => void;

  constructor(setup: ClientSessionRunSetup) {
    this.setup = setup;
    this.selection = selectEvents(setup.options.filter);
    this.store = setup.options.store ?? createSessionStore();
    this.recorder = this.store.record({
      decide: (callId, decision) => this.postApproval(callId, decision),
    });
    this.ready = new Promise<string>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.result = new Promise<ExecutionOutcome>((resolve, reject) => {
      this.resolveResult = resolve;
      this.rejectResult = reject;
    });
    // Whoever only iterates, or only reads the store, must not get an unhandled rejection.
    this.ready.catch(() => undefined);
    this.result.catch(() => undefined);
    this.toolRunner = new ClientToolRunner({
      tools: setup.tools,
      sessionId: () => this.currentSessionId ?? '',
      post: (callId, answer) => this.postToolResult(callId, answer),
      onPostFailure: (callId, error) => {
        this.recorder.failToolCall(callId, error);
        this.setup.options.onError?.(error);
      },
    });
    const onApproval = setup.options.onApproval;
    if (onApproval !== undefined) {
      this.approvalRunner = new ApprovalRunner({
        handler: onApproval,
        sessionId: () => this.currentSessionId ?? '',
        post: async (callId, decision) => {
          try {
            await this.postApproval(callId, decision);
          } catch (error) {
            if (EnclaveError.isInstance(error) && STALE_DECISION_CODES.has(error.code)) return;
            throw error;
          }
        },
        onFailure: (error) => reportError(error, this.setup.options.onError),
      });
    }
    const signal = setup.options.signal;
    if (signal !== undefined && !signal.aborted) {
      this.onSignalAbort = () => {
        this.cancel().catch((error: unknown) =>
          reportError(toEnclaveError(error), this.setup.options.onError),
        );
      };
      signal.addEventListener('abort', this.onSignalAbort, { once: true });
    }
    void this.run();
  }

  get sessionId(): string | undefined {
    return this.currentSessionId;
  }

  get events(): readonly StreamEvent[] {
    return this.log.events;
  }

  get keyPair(): CryptoKeyPair | undefined {
    return this.encryption?.keyPair;
  }

  [Symbol.asyncIterator](): AsyncIterator<StreamEvent> {
    return this.log.iterator();
  }

  approve(callId: string): Promise<void> {
    return this.postApproval(callId, { approved: true });
  }

  deny(callId: string, reason?: string): Promise<void> {
    return this.postApproval(
      callId,
      reason === undefined ? { approved: false } : { approved: false, reason },
    );
  }

  async cancel(): Promise<void> {
    if (this.finished) return;
    let sessionId: string;
    try {
      sessionId = await this.ready;
    } catch {
      // It never started: there is nothing to cancel.
      return;
    }
    if (this.finished) return;
    await this.setup.http.json(
      'DELETE',
      `/sessions/${encodeURIComponent(sessionId)}`,
      (value) => validate(CancelSessionResponseSchema, value),
      { retryNetworkFailures: true, what: `Cancelling session ${sessionId}` },
    );
  }

  private async run(): Promise<void> {
    try {
      const start = this.setup.start;
      if (start.kind === 'execute') await this.execute(start.request, start.encrypt);
      else await this.resume(start.sessionId, start.fromSeq, start.keyPair);
      if (!this.finished) {
        this.fail(new EnclaveError('CONNECTION_CLOSED', 'The event stream ended before final'));
      }
    } catch (error) {
      this.fail(toEnclaveError(error, 'INTERNAL_ERROR'));
    }
  }

  private async execute(request: ExecuteRequestBody, encrypt: boolean): Promise<void> {
    if (this.setup.options.signal?.aborted === true) {
      throw new EnclaveError('CANCELLED', 'The signal was aborted before the session started');
    }
    const body: ExecuteRequest = { ...request };
    if (this.selection.wireFilter !== undefined) body.filter = this.selection.wireFilter;
    if (encrypt) {
      this.encryption = await ClientSessionEncryption.create();
      body.encryption = { publicKey: await this.encryption.publicKey() };
    }
    this.intake = new EventIntake({ encryption: this.encryption });
    const source = this.createSource();
    const response = await this.setup.http.send('POST', '/execute', {
      body,
      accept: NDJSON_MIME_TYPE,
      what: 'POST /execute',
    });
    const sessionId = response.headers.get('x-session-id');
    if (sessionId !== null && sessionId !== '') this.setSessionId(sessionId);
    await source.adopt(response, this.selection.wireFilter !== undefined);
    await this.follow(source, 1);
  }

  private async resume(
    sessionId: string,
    fromSeq: number,
    keyPair: CryptoKeyPair | undefined,
  ): Promise<void> {
    this.setSessionId(sessionId);
    let readFrom = fromSeq;
    if (keyPair !== undefined) {
      this.encryption = await ClientSessionEncryption.create(keyPair);
      // The keys come from session_init (seq 1): read from there, deliver from fromSeq.
      this.intake = new EventIntake({ encryption: this.encryption, deliverFrom: fromSeq });
      readFrom = 1;
    } else {
      this.intake = new EventIntake();
    }
    this.intake.expectSession(sessionId);
    const info = await this.setup.http.json(
      'GET',
      `/sessions/${encodeURIComponent(sessionId)}`,
      (value) => validate(SessionInfoSchema, value),
      { retryNetworkFailures: true, signal: this.stopController.signal, what: `GET /sessions/${sessionId}` },
    );
    const pending = new Set(info.pendingToolCalls ?? []);
    const waiting = new Set(info.pendingApprovals ?? []);
    const lastSeq = info.lastSeq ?? 0;
    this.answeredBefore = (callId, seq) => seq <= lastSeq && !pending.has(callId);
    this.decidedBefore = (callId, seq) => seq <= lastSeq && !waiting.has(callId);
    await this.follow(this.createSource(), readFrom);
  }

  private createSource(): EventSource {
    return this.setup.createSource({
      sessionId: () => this.currentSessionId,
      encrypted: this.encryption !== undefined,
    });
  }

  /**
   * Reads the session's events from `fromSeq` through the resumable reader until `final` (or until
   * the run stops): the source delivers lines, the reader resumes and orders them, the intake opens them.
   */
  private async follow(source: EventSource, fromSeq: number): Promise<void> {
    const reader = resumable(checkEnvelopes(source.open), {
      fromSeq,
      retry: this.setup.http.retry,
      heartbeatTimeout: this.setup.heartbeatTimeout,
      signal: this.stopController.signal,
      describe: () => `the event stream of session ${this.currentSessionId ?? '(unknown)'}`,
      details: () => ({ sessionId: this.currentSessionId }),
    });
    for await (const batch of reader) {
      if ((await this.receive(batch)) === 'final') return;
    }
  }

  /** Takes a batch of new events: each is handled once, in order. Resolves `final` once the session ended. */
  private async receive(envelopes: readonly Envelope[]): Promise<'final' | 'continue'> {
    if (this.finished) return 'final';
    const { events, failure } = await this.intake.accept(envelopes);
    if (this.finished) return 'final';
    const predicate = this.selection.predicate;
    const delivered: StreamEvent[] = [];
    let final: FinalEvent | undefined;
    for (const event of events) {
      this.react(event);
      if (predicate === undefined || predicate(event)) {
        delivered.push(event);
        this.log.push(event);
        this.notify(event);
      }
      if (event.type === 'final') {
        final = event;
        break;
      }
    }
    if (delivered.length > 0) {
      this.recorder.applyEvents(delivered);
      this.log.flush();
    }
    if (final !== undefined) {
      this.complete(final);
      return 'final';
    }
    // The events before a refused line are delivered; the refused one never is.
    if (failure !== undefined) throw failure;
    return 'continue';
  }

  /** What the client itself does with an event, whether or not it is delivered. */
  private react(event: StreamEvent): void {
    switch (event.type) {
      case 'session_init':
        this.setSessionId(event.sessionId);
        break;
      case 'tool_call':
        if (event.payload.answeredBy !== 'client') break;
        if (this.answeredBefore?.(event.payload.callId, event.seq) === true) break;
        this.toolRunner.run(event.payload);
        break;
      case 'tool_result_applied':
        this.toolRunner.settle(event.payload.callId);
        break;
      case 'approval_required':
        if (this.decidedBefore?.(event.payload.callId, event.seq) === true) break;
        this.approvalRunner?.run(event.payload, event.seq);
        break;
      case 'approval_resolved':
        this.approvalRunner?.settle(event.payload.callId);
        break;
      default:
        break;
    }
  }

  /** Calls the user's callbacks for a delivered event. */
  private notify(event: StreamEvent): void {
    const options = this.setup.options;
    try {
      options.onEvent?.(event);
      if (event.type === 'stdout') options.onStdout?.(event.payload.chunk, event);
      else if (event.type === 'log') options.onLog?.(event.payload, event);
      else if (event.type === 'tool_call') options.onToolCall?.(event.payload, event);
    } catch (error) {
      reportError(
        new EnclaveError('INTERNAL_ERROR', `A callback threw while handling event seq ${event.seq}`, {
          cause: error,
        }),
        options.onError,
      );
    }
  }

  private setSessionId(sessionId: string): void {
    if (this.currentSessionId !== undefined) return;
    this.currentSessionId = sessionId;
    this.intake.expectSession(sessionId);
    this.recorder.setSessionId(sessionId);
    this.resolveReady(sessionId);
  }

  private async postToolResult(callId: string, answer: ToolAnswer): Promise<void> {
    const sessionId = this.currentSessionId;
    if (sessionId === undefined) return;
    const encryption = this.encryption;
    try {
      await this.setup.http.send('POST', `/sessions/${encodeURIComponent(sessionId)}/tool-result`, {
        // Sealed anew for each attempt: the broker accepts each sealed message once.
        body: async (): Promise<ToolResultRequest> =>
          encryption === undefined
            ? { callId, ...answer }
            : { callId, encrypted: await encryption.seal({ callId, ...answer }) },
        retryNetworkFailures: true,
        signal: this.stopController.signal,
        what: `Answering tool call ${callId}`,
      });
    } catch (error) {
      if (EnclaveError.isInstance(error) && STALE_ANSWER_CODES.has(error.code)) return;
      throw error;
    }
  }

  /** Sends a decision on an approval; sealed in an encrypted session. */
  private async postApproval(callId: string, decision: SentDecision): Promise<void> {
    const sessionId = this.currentSessionId;
    if (sessionId === undefined) {
      throw new EnclaveError(
        'APPROVAL_NOT_FOUND',
        `The session has not started: nothing waits for ${callId}`,
      );
    }
    const encryption = this.encryption;
    await this.setup.http.send('POST', `/sessions/${encodeURIComponent(sessionId)}/approvals`, {
      // Sealed anew for each attempt: the broker accepts each sealed message once.
      body: async (): Promise<ApprovalDecisionRequest> =>
        encryption === undefined
          ? { callId, ...decision }
          : { callId, encrypted: await encryption.seal({ type: 'approval', callId, ...decision }) },
      retryNetworkFailures: true,
      signal: this.stopController.signal,
      what: `Deciding the approval of tool call ${callId}`,
    });
  }

  private complete(final: FinalEvent): void {
    const payload = final.payload;
    const outcome: ExecutionOutcome = { ok: payload.ok, stats: payload.stats };
    if (payload.result !== undefined) outcome.result = payload.result;
    if (!payload.ok) {
      outcome.error = EnclaveError.fromWire(
        payload.error ?? { code: 'INTERNAL_ERROR', message: 'The session failed without an error' },
      );
    }
    this.finish(outcome.error ?? new EnclaveError('SESSION_ENDED', 'The session has ended'));
    this.log.end();
    this.resolveResult(outcome);
  }

  private fail(error: EnclaveError): void {
    if (this.finished) return;
    this.finish(error);
    this.log.end(error);
    this.recorder.fail(error, error.code === 'CANCELLED' ? 'cancelled' : 'error');
    this.rejectReady(error);
    this.rejectResult(error);
  }

  private finish(reason: EnclaveError): void {
    this.finished = true;
    this.stopController.abort(reason);
    this.toolRunner.stop(reason);
    this.approvalRunner?.stop(reason);
    if (this.onSignalAbort !== undefined) {
      this.setup.options.signal?.removeEventListener('abort', this.onSignalAbort);
    }
  }
}
