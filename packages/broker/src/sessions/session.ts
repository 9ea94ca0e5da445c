import type {
  ExecutionStats,
  SecurityLevel,
  SessionLimits,
  SessionStatus,
  WireError,
} from '@enclave-vm/types';
import type { AuthenticatedUser } from '../tools/tool-types.js';
import type { LoggedEvent } from './logged-event.js';

/** A session as `getSession` and the broker's events report it. */
export interface Session {
  id: string;
  status: SessionStatus;
  createdAt: number;
  expiresAt: number;
  /** When it started running (epoch ms); absent while pending. */
  startedAt?: number;
  completedAt?: number;
  securityLevel: SecurityLevel;
  limits: SessionLimits;
  /** Seq of the newest event (0 before the first). */
  lastSeq: number;
  stats: ExecutionStats;
  /** Ids of tool calls waiting for the client. */
  pendingToolCalls: string[];
  /**
   * Ids of tool calls waiting for a person's approval. Absent from records written before approval
   * gates existed (read it as empty).
   */
  pendingApprovals?: string[];
  /** The authenticated caller that started it. */
  user?: AuthenticatedUser;
  /** The final result, once completed. */
  result?: unknown;
  /** The error, once failed. */
  error?: WireError;
  /** Id of the broker that runs it (it holds the running executor and, if any, the keys). */
  owner?: string;
  /**
   * Encrypted sessions only: the sealed `error` and `final` (code `BROKER_LOST`) numbered after the
   * newest event, prepared by the owner with each write, so that another broker can end the session
   * if the owner dies, although the keys never leave the owner.
   */
  sealedEnding?: LoggedEvent[];
}
