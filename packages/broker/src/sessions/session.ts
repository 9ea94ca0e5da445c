import type {
  ExecutionStats,
  SecurityLevel,
  SessionLimits,
  SessionStatus,
  WireError,
} from '@enclave-vm/types';
import type { AuthenticatedUser } from '../tools/tool-types.js';

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
  /** The authenticated caller that started it. */
  user?: AuthenticatedUser;
  /** The final result, once completed. */
  result?: unknown;
  /** The error, once failed. */
  error?: WireError;
}
