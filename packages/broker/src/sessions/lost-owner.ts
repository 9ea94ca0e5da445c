import { createEvent, type ExecutionStats, type WireError } from '@enclave-vm/types';
import { type LoggedEvent, loggedEvent } from './logged-event.js';
import type { Session } from './session.js';
import type { SessionChanges } from './session-store.js';

/** The error a session ends with when the broker running it is lost. */
export function brokerLostError(sessionId: string): WireError {
  return {
    code: 'BROKER_LOST',
    message: `The broker running session ${sessionId} stopped renewing its lease; the session was ended`,
  };
}

/** The `error` and `final` that end a session whose owner was lost, numbered after `lastSeq`. */
export function lostOwnerEvents(sessionId: string, lastSeq: number, stats: ExecutionStats) {
  const error = brokerLostError(sessionId);
  return [
    createEvent(sessionId, lastSeq + 1, 'error', {
      code: error.code,
      message: error.message,
      recoverable: false,
    }),
    createEvent(sessionId, lastSeq + 2, 'final', { ok: false, error, stats }),
  ] as const;
}

/**
 * How another broker ends a session whose owner was lost: the entries to append after the record's
 * newest event (the owner's sealed ones for an encrypted session, plain ones otherwise) and the
 * record's changes.
 */
export function lostOwnerEnding(
  session: Session,
  now: number,
): { entries: LoggedEvent[]; changes: SessionChanges } {
  const stats =
    session.status === 'running' && session.startedAt !== undefined
      ? { ...session.stats, durationMs: Math.max(0, now - session.startedAt) }
      : session.stats;
  const sealed = session.sealedEnding;
  const entries =
    sealed !== undefined && sealed[0]?.seq === session.lastSeq + 1
      ? sealed
      : lostOwnerEvents(session.id, session.lastSeq, stats).map(loggedEvent);
  return {
    entries,
    changes: {
      status: 'error',
      completedAt: now,
      error: brokerLostError(session.id),
      pendingToolCalls: [],
      pendingApprovals: [],
      stats,
      sealedEnding: undefined,
    },
  };
}
