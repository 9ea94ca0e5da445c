import { z } from 'zod';
import { ErrorCodeSchema } from './error-codes.js';
import { EventTypeSchema, ExecutionStatsSchema, MAX_APPROVAL_REASON_LENGTH } from './events.js';
import { CallIdSchema, SessionIdSchema } from './ids.js';
import { SecurityLevelSchema } from './limits.js';
import { WireErrorSchema } from './wire-error.js';

/** Largest accepted `code` in characters. @default 1_000_000 */
export const MAX_CODE_LENGTH = 1_000_000;

/** Which events a stream carries. `session_init` and `final` are always sent. */
export const EventFilterSchema = z.strictObject({
  /** Only these types (plus `session_init` and `final`). */
  types: z.array(EventTypeSchema).max(16).optional(),
  /** Never these types (`session_init` and `final` cannot be blocked). */
  blockedTypes: z.array(EventTypeSchema).max(16).optional(),
});

/** Which events a stream carries. */
export type EventFilter = z.infer<typeof EventFilterSchema>;

/** Client side of the encryption handshake, sent with `POST /execute`. */
export const EncryptionRequestSchema = z.strictObject({
  /** The client's ECDH P-256 public key (raw point, base64). */
  publicKey: z.string().min(1).max(1024),
});

/** Body of `POST /execute`. */
export const ExecuteRequestSchema = z.strictObject({
  code: z.string().min(1, 'code must not be empty').max(MAX_CODE_LENGTH),
  /** Wall-clock timeout in ms; capped by the broker's security level. */
  timeout: z.number().int().positive().optional(),
  /** Maximum tool calls; capped by the broker's security level. */
  maxToolCalls: z.number().int().nonnegative().optional(),
  /** Read-only data the code sees as `context`. */
  context: z.record(z.string(), z.unknown()).optional(),
  filter: EventFilterSchema.optional(),
  encryption: EncryptionRequestSchema.optional(),
});

/** Body of `POST /execute`. */
export type ExecuteRequest = z.infer<typeof ExecuteRequestSchema>;

/** Lifecycle state of a session. */
export const SessionStatusSchema = z.enum(['pending', 'running', 'completed', 'error']);

/** Lifecycle state of a session. */
export type SessionStatus = z.infer<typeof SessionStatusSchema>;

/** Response of `GET /sessions/:sessionId`. */
export const SessionInfoSchema = z.object({
  id: SessionIdSchema,
  status: SessionStatusSchema,
  createdAt: z.number(),
  expiresAt: z.number(),
  /** Epoch ms at which the session ended, when it has. */
  completedAt: z.number().optional(),
  securityLevel: SecurityLevelSchema.optional(),
  /** Seq of the newest event so far. */
  lastSeq: z.number().int().nonnegative().optional(),
  stats: ExecutionStatsSchema.optional(),
  /** Tool calls waiting for a client's answer. */
  pendingToolCalls: z.array(CallIdSchema).optional(),
  /** Tool calls waiting for a person's approval (`POST /sessions/:sessionId/approvals`). */
  pendingApprovals: z.array(CallIdSchema).optional(),
  error: WireErrorSchema.optional(),
});

/** Response of `GET /sessions/:sessionId`. */
export type SessionInfo = z.infer<typeof SessionInfoSchema>;

/** A client → broker value sealed with the session's keys (`SessionCipher.sealMessage` in @enclave-vm/stream). */
export const SealedMessageSchema = z.strictObject({
  /** The sender's counter, authenticated with the message; each is accepted once. */
  counter: z.number().int().positive(),
  /** 12-byte IV, base64. */
  iv: z.string().min(1).max(64),
  /** Ciphertext with the GCM tag, base64. */
  ciphertext: z.string().min(1),
});

/** A client → broker sealed value. */
export type SealedMessagePayload = z.infer<typeof SealedMessageSchema>;

/** The error a client reports for a tool call it could not answer. */
export const ToolErrorBodySchema = z.strictObject({
  message: z.string().max(100_000),
  code: z.string().min(1).max(100).optional(),
});

/**
 * Body of `POST /sessions/:sessionId/tool-result`. In an encrypted session the client sends
 * `encrypted` instead of `result`/`error`: the sealed JSON of `{ callId, result?, error? }`.
 */
export const ToolResultRequestSchema = z.strictObject({
  callId: CallIdSchema,
  result: z.unknown().optional(),
  error: ToolErrorBodySchema.optional(),
  encrypted: SealedMessageSchema.optional(),
});

/** Body of `POST /sessions/:sessionId/tool-result`. */
export type ToolResultRequest = z.infer<typeof ToolResultRequestSchema>;

/** Response of `POST /sessions/:sessionId/tool-result`. */
export const ToolResultResponseSchema = z.object({ success: z.literal(true) });

/** Response of `POST /sessions/:sessionId/tool-result`. */
export type ToolResultResponse = z.infer<typeof ToolResultResponseSchema>;

/**
 * Body of `POST /sessions/:sessionId/approvals`: the decision on a tool call waiting for approval
 * (`approval_required`). In an encrypted session the client sends `encrypted` instead of
 * `approved`/`reason`: the sealed JSON of `{ type: 'approval', callId, approved, reason? }`.
 */
export const ApprovalDecisionRequestSchema = z.strictObject({
  callId: CallIdSchema,
  /** `true` lets the tool run; `false` makes the call throw `APPROVAL_DENIED` in the code. */
  approved: z.boolean().optional(),
  /** Why, shown to the code with a denial and kept in the `approval_resolved` event. */
  reason: z.string().max(MAX_APPROVAL_REASON_LENGTH).optional(),
  encrypted: SealedMessageSchema.optional(),
});

/** Body of `POST /sessions/:sessionId/approvals`. */
export type ApprovalDecisionRequest = z.infer<typeof ApprovalDecisionRequestSchema>;

/** Response of `POST /sessions/:sessionId/approvals`. */
export const ApprovalDecisionResponseSchema = z.object({ success: z.literal(true) });

/** Response of `POST /sessions/:sessionId/approvals`. */
export type ApprovalDecisionResponse = z.infer<typeof ApprovalDecisionResponseSchema>;

/** Query of `GET /sessions/:sessionId/events`: replay from this seq (inclusive), then live. */
export const ResumeQuerySchema = z.strictObject({
  fromSeq: z.coerce.number().int().positive().default(1),
});

/** Query of `GET /sessions/:sessionId/events`. */
export type ResumeQuery = z.infer<typeof ResumeQuerySchema>;

/** Response of `DELETE /sessions/:sessionId`. */
export const CancelSessionResponseSchema = z.object({
  success: z.literal(true),
  sessionId: SessionIdSchema,
  /** Status after the cancel: `error` when it was running, unchanged when it had already ended. */
  status: SessionStatusSchema,
});

/** Response of `DELETE /sessions/:sessionId`. */
export type CancelSessionResponse = z.infer<typeof CancelSessionResponseSchema>;

/** Response of `GET /health`. */
export const HealthResponseSchema = z.object({
  status: z.literal('ok'),
  /** Seconds since the broker started. */
  uptime: z.number().nonnegative(),
  sessions: z.object({
    active: z.number().int().nonnegative(),
    total: z.number().int().nonnegative(),
    /**
     * Of the active sessions, those parked right now: waiting on tool calls with their sandbox's
     * memory compressed and its engine instance freed until the next result. Brokers of earlier
     * versions leave it out.
     */
    parked: z.number().int().nonnegative().optional(),
  }),
});

/** Response of `GET /health`. */
export type HealthResponse = z.infer<typeof HealthResponseSchema>;

/** Body of every 4xx/5xx answer of the broker. */
export const ErrorResponseSchema = z.object({
  error: z.object({
    code: ErrorCodeSchema.or(z.string()),
    message: z.string(),
    retryable: z.boolean(),
    details: z.unknown().optional(),
  }),
});

/** Body of every 4xx/5xx answer of the broker. */
export type ErrorResponse = z.infer<typeof ErrorResponseSchema>;
