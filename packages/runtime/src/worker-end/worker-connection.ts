import {
  type BrokerToRuntimeMessage,
  type CancelMessage,
  type ChannelErrorMessage,
  type ExecuteMessage,
  type Logger,
  type RuntimeEvent,
  type RuntimeToBrokerMessage,
  type ToolResultMessage,
  toEnclaveError,
  type WireError,
} from '@enclave-vm/types';
import type { WebSocket } from 'ws';
import { parseBrokerToRuntimeMessage } from '../channel/channel-fast-path.js';
import { decodeChannelMessage } from '../channel/channel-message.js';
import { emptyStats, endingEvents, SessionTally } from '../channel/session-tally.js';
import type { ExecutionHandle, SessionExecutor, ToolOutcome } from '../executor/execution-types.js';

/** What a connection needs from the worker that accepted it. */
export interface WorkerConnectionHost {
  /** Runs the sessions. */
  readonly executor: SessionExecutor;
  /** Where problems are reported. */
  readonly logger: Logger;
  /** Largest message accepted, in bytes. */
  readonly maxMessageBytes: number;
  /** Takes one session slot; returns the error to answer with when none can be taken. */
  reserveSession(): WireError | undefined;
  /** Gives back a slot taken with `reserveSession`, once its session has ended. */
  releaseSession(): void;
}

/** One session started on this connection, from `execute` until its `final` has been sent. */
interface ConnectionSession {
  readonly sessionId: string;
  readonly tally: SessionTally;
  handle: ExecutionHandle | undefined;
  /** Events produced since the last flush, sent together as one `events` message. */
  pending: RuntimeEvent[];
  /** Whether the session is in the flush queue. */
  queued: boolean;
  /** Whether `final` has been produced (nothing is accepted from the executor after it). */
  ended: boolean;
}

const FORCE_CLOSE_AFTER_MS = 1_000;

/**
 * The worker's side of one broker connection: validates every incoming message, starts and steers
 * the sessions it asks for, and sends their events back, all events of a session produced in the
 * same task (typically one message from the sandbox pool) in one `events` message. A session stays known to the connection
 * until its `final` has been written to the socket, so any later answer about it (for instance
 * `SESSION_NOT_FOUND`) reaches the broker after that `final`.
 */
export class WorkerConnection {
  private readonly sessions = new Map<string, ConnectionSession>();
  private readonly flushQueue: ConnectionSession[] = [];
  private flushScheduled = false;
  private readonly flushTask = (): void => {
    if (this.flushScheduled) this.flush();
  };
  private open = true;
  private readonly closedPromise: Promise<void>;

  constructor(
    private readonly socket: WebSocket,
    private readonly host: WorkerConnectionHost,
    /** A number identifying the connection in logs. */
    readonly connectionId: number,
  ) {
    this.closedPromise = new Promise((resolve) => {
      socket.once('close', (code: number, reason: Buffer) => {
        this.handleClose(code, reason.toString('utf8'));
        resolve();
      });
    });
    socket.on('message', (data) => this.handleFrame(data));
    socket.on('error', (error) => {
      host.logger.warn('Connection error', { connectionId, error: error.message });
    });
  }

  /** Sessions of this connection whose `final` has not been sent yet. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Sends one message if the socket is still open. */
  send(message: RuntimeToBrokerMessage): void {
    if (!this.open || this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(JSON.stringify(message));
  }

  /**
   * Ends every session still running with `error` + `final` (`error`'s code, typically
   * `SHUTTING_DOWN`), sends them at once, and stops the sessions in the executor.
   */
  endAllSessions(error: WireError): void {
    for (const session of this.sessions.values()) {
      if (session.ended) continue;
      for (const event of endingEvents(error, session.tally.stats())) this.accept(session, event);
      session.handle?.cancel(error.message);
    }
    this.flush();
  }

  /**
   * Closes the socket after everything queued has been written; resolves once it is closed
   * (forcibly after one second if the peer does not complete the closing handshake).
   */
  async close(code: number, reason: string): Promise<void> {
    this.flush();
    if (this.socket.readyState === this.socket.OPEN || this.socket.readyState === this.socket.CONNECTING) {
      this.socket.close(code, reason);
    }
    const timer = setTimeout(() => this.socket.terminate(), FORCE_CLOSE_AFTER_MS);
    timer.unref();
    await this.closedPromise;
    clearTimeout(timer);
  }

  private handleFrame(data: unknown): void {
    const decoded = decodeChannelMessage(data, parseBrokerToRuntimeMessage, this.host.maxMessageBytes);
    if (!decoded.ok) {
      this.host.logger.debug('Rejected a message', {
        connectionId: this.connectionId,
        reason: decoded.problem.message,
      });
      this.sendError(decoded.problem);
      return;
    }
    this.handleMessage(decoded.message);
  }

  private handleMessage(message: BrokerToRuntimeMessage): void {
    switch (message.type) {
      case 'execute':
        this.execute(message);
        return;
      case 'tool_result':
        this.submitToolResult(message);
        return;
      case 'cancel':
        this.cancel(message);
        return;
      case 'ping':
        this.send({ type: 'pong', id: message.id, ts: message.ts });
        return;
      case 'pong':
        // The worker does not ping; a pong needs no answer.
        return;
    }
  }

  private execute(message: ExecuteMessage): void {
    const { sessionId } = message;
    if (this.sessions.has(sessionId)) {
      this.sendError({
        code: 'PROTOCOL_ERROR',
        message: `Session ${sessionId} is already running on this connection`,
        sessionId,
      });
      return;
    }
    const refusal = this.host.reserveSession();
    if (refusal !== undefined) {
      this.send({ type: 'events', sessionId, events: endingEvents(refusal, emptyStats()) });
      return;
    }
    const session: ConnectionSession = {
      sessionId,
      tally: new SessionTally(),
      handle: undefined,
      pending: [],
      queued: false,
      ended: false,
    };
    this.sessions.set(sessionId, session);
    try {
      session.handle = this.host.executor.execute(
        {
          sessionId,
          code: message.code,
          limits: message.limits,
          ...(message.context === undefined ? {} : { context: message.context }),
        },
        (event) => this.accept(session, event),
      );
    } catch (error) {
      const failure = toEnclaveError(error);
      this.host.logger.error('The executor refused a session', { sessionId, error: failure.message });
      for (const event of endingEvents(failure.toWire(), session.tally.stats())) this.accept(session, event);
    }
  }

  private submitToolResult(message: ToolResultMessage): void {
    const session = this.sessions.get(message.sessionId);
    if (session?.handle === undefined) {
      this.sendUnknownSession(message.sessionId);
      return;
    }
    const outcome: ToolOutcome = message.ok
      ? { ok: true, result: message.result }
      : { ok: false, error: message.error ?? { code: 'TOOL_ERROR', message: 'The tool failed' } };
    try {
      session.handle.submitToolResult(message.callId, outcome);
    } catch (error) {
      const failure = toEnclaveError(error);
      this.sendError({
        code: failure.code,
        message: failure.message,
        sessionId: message.sessionId,
        details: { callId: message.callId },
      });
    }
  }

  private cancel(message: CancelMessage): void {
    const session = this.sessions.get(message.sessionId);
    if (session === undefined) {
      this.sendUnknownSession(message.sessionId);
      return;
    }
    session.handle?.cancel(message.reason);
  }

  /** Takes one event of a session from the executor and queues it for the next flush. */
  private accept(session: ConnectionSession, event: RuntimeEvent): void {
    // Exactly one `final` per session: anything after it (e.g. a late executor event following a
    // shutdown's synthetic final) is dropped.
    if (session.ended) return;
    session.tally.observe(event);
    if (event.type === 'final') {
      session.ended = true;
      this.host.releaseSession();
    }
    if (!this.open) {
      if (session.ended) this.forget(session);
      return;
    }
    session.pending.push(event);
    if (!session.queued) {
      session.queued = true;
      this.flushQueue.push(session);
    }
    if (!this.flushScheduled) {
      // A microtask, not setImmediate: the events of one message from the sandbox pool arrive in
      // one synchronous call chain, so they still travel together, and a tool call reaches the
      // broker without waiting for the next phase of the event loop.
      this.flushScheduled = true;
      queueMicrotask(this.flushTask);
    }
  }

  /** Sends every queued batch, one `events` message per session, and forgets sessions that ended. */
  private flush(): void {
    this.flushScheduled = false;
    const queue = this.flushQueue.splice(0);
    for (const session of queue) {
      const events = session.pending;
      session.pending = [];
      session.queued = false;
      if (events.length > 0) this.send({ type: 'events', sessionId: session.sessionId, events });
      if (session.ended) this.forget(session);
    }
  }

  private forget(session: ConnectionSession): void {
    if (this.sessions.get(session.sessionId) === session) this.sessions.delete(session.sessionId);
  }

  private handleClose(code: number, reason: string): void {
    this.open = false;
    this.flushQueue.length = 0;
    let cancelled = 0;
    for (const session of this.sessions.values()) {
      session.pending = [];
      session.queued = false;
      if (session.ended) {
        this.forget(session);
        continue;
      }
      cancelled += 1;
      session.handle?.cancel('The broker connection closed');
    }
    this.host.logger.debug('Connection closed', { connectionId: this.connectionId, code, reason, cancelled });
  }

  private sendUnknownSession(sessionId: string): void {
    this.sendError({
      code: 'SESSION_NOT_FOUND',
      message: `No running session ${sessionId} on this connection`,
      sessionId,
    });
  }

  private sendError(error: Omit<ChannelErrorMessage, 'type'>): void {
    this.send({ type: 'error', ...error });
  }
}
