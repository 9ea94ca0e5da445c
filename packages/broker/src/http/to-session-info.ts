import type { SessionInfo } from '@enclave-vm/types';
import type { Session } from '../sessions/session.js';

/**
 * The public view of a session served by `GET /sessions/:sessionId`: status, times, limits level,
 * progress and error. The caller's identity and the result stay out (the result is in `final`).
 */
export function toSessionInfo(session: Session): SessionInfo {
  const info: SessionInfo = {
    id: session.id,
    status: session.status,
    createdAt: session.createdAt,
    expiresAt: session.expiresAt,
    securityLevel: session.securityLevel,
    lastSeq: session.lastSeq,
    stats: session.stats,
    pendingToolCalls: session.pendingToolCalls,
    pendingApprovals: session.pendingApprovals ?? [],
  };
  if (session.completedAt !== undefined) info.completedAt = session.completedAt;
  if (session.error !== undefined) info.error = session.error;
  return info;
}
