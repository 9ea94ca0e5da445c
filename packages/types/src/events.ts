import { z } from 'zod';
import { CatalogChangeSchema } from './catalog.js';
import { CallIdSchema, SessionIdSchema, ToolNameSchema } from './ids.js';
import { SecurityLevelSchema, SessionLimitsSchema } from './limits.js';
import { PROTOCOL_VERSION } from './protocol-version.js';
import { WireErrorSchema } from './wire-error.js';

/** The event types of the streaming protocol, in the order a session usually emits them. */
export const EVENT_TYPES = [
  'session_init',
  'stdout',
  'log',
  'tool_call',
  'tool_result_applied',
  'heartbeat',
  'final',
  'error',
  'catalog_changed',
  'approval_required',
  'approval_resolved',
] as const;

/** Zod schema of an event type name. */
export const EventTypeSchema = z.enum(EVENT_TYPES);

/** One of the event types. */
export type EventType = z.infer<typeof EventTypeSchema>;

/** Log levels of `log` events (the guest's `console.debug/info/warn/error`). */
export const LogLevelSchema = z.enum(['debug', 'info', 'warn', 'error']);

/** A log level. */
export type LogLevel = z.infer<typeof LogLevelSchema>;

/** Who answers a tool call: a tool registered on the broker, or the client consuming the stream. */
export const ToolAnswererSchema = z.enum(['broker', 'client']);

/** Who answers a tool call. */
export type ToolAnswerer = z.infer<typeof ToolAnswererSchema>;

/** Encryption parameters announced in `session_init` when the session is encrypted. */
export const EncryptionParamsSchema = z.object({
  /** The key agreement and cipher suite. */
  algorithm: z.literal('ECDH-P256+HKDF-SHA256+AES-256-GCM'),
  /** The server's ECDH public key (raw point, base64). */
  publicKey: z.string().min(1).max(1024),
  /** The HKDF salt (base64), fixed per session. */
  salt: z.string().min(1).max(256),
});

/** Encryption parameters announced in `session_init`. */
export type EncryptionParams = z.infer<typeof EncryptionParamsSchema>;

/** Counters of one run, reported in `final` and in session info. */
export const ExecutionStatsSchema = z.object({
  /** Wall-clock ms from start of execution to its end. */
  durationMs: z.number().nonnegative(),
  /** CPU ms the guest spent running (not awaiting). */
  cpuTimeMs: z.number().nonnegative(),
  /** Tool calls made. */
  toolCalls: z.number().int().nonnegative(),
  /** Bytes of console output (stdout and log messages). */
  stdoutBytes: z.number().int().nonnegative(),
});

/** Counters of one run. */
export type ExecutionStats = z.infer<typeof ExecutionStatsSchema>;

/** `session_init` payload: what the session runs under and where to resume or cancel it. */
export const SessionInitPayloadSchema = z.object({
  limits: SessionLimitsSchema,
  securityLevel: SecurityLevelSchema.optional(),
  /** Epoch ms after which the session and its log are discarded. */
  expiresAt: z.number(),
  /** Path of the resume route, e.g. `/sessions/ses_1/events`. */
  resumeUrl: z.string().optional(),
  /** Path of the cancel route, e.g. `/sessions/ses_1`. */
  cancelUrl: z.string().optional(),
  /** Present when every later event of the session travels encrypted. */
  encryption: EncryptionParamsSchema.optional(),
});

/** `stdout` payload: one chunk of `console.log` output, newline included. */
export const StdoutPayloadSchema = z.object({ chunk: z.string() });

/** `log` payload. */
export const LogPayloadSchema = z.object({
  level: LogLevelSchema,
  message: z.string(),
  data: z.unknown().optional(),
});

/** `tool_call` payload. */
export const ToolCallPayloadSchema = z.object({
  callId: CallIdSchema,
  toolName: ToolNameSchema,
  args: z.unknown(),
  answeredBy: ToolAnswererSchema,
});

/** `tool_result_applied` payload: the result (or error) was handed back to the guest. */
export const ToolResultAppliedPayloadSchema = z.object({
  callId: CallIdSchema,
  toolName: ToolNameSchema.optional(),
  ok: z.boolean(),
  durationMs: z.number().nonnegative(),
  result: z.unknown().optional(),
  error: WireErrorSchema.optional(),
});

/** `heartbeat` payload: nothing beyond the envelope. */
export const HeartbeatPayloadSchema = z.object({});

/** `final` payload: the outcome. Every session ends with exactly one. */
export const FinalPayloadSchema = z.object({
  ok: z.boolean(),
  result: z.unknown().optional(),
  error: WireErrorSchema.optional(),
  stats: ExecutionStatsSchema,
});

/** `error` payload. `recoverable` says whether the session goes on after it. */
export const ErrorPayloadSchema = z.object({
  code: z.string().min(1).max(100),
  message: z.string(),
  recoverable: z.boolean(),
  details: z.unknown().optional(),
});

/**
 * `catalog_changed` payload: the broker's action catalog changed while the session ran (tools were
 * added to or removed from what `tools` can call from now on).
 */
export const CatalogChangedPayloadSchema = CatalogChangeSchema;

/** Longest reason a decision on an approval may carry, in characters. */
export const MAX_APPROVAL_REASON_LENGTH = 10_000;

/**
 * `approval_required` payload: a tool call that needs a person's approval waits for a decision
 * (`POST /sessions/:id/approvals`). It follows the call's `tool_call`; the tool runs only once the
 * call is approved.
 */
export const ApprovalRequiredPayloadSchema = z.object({
  callId: CallIdSchema,
  toolName: ToolNameSchema,
  /** The arguments as the code passed them (the same as the `tool_call`'s). */
  args: z.unknown(),
  /** Epoch ms at which the call fails with `APPROVAL_TIMEOUT` unless a decision arrived. */
  expiresAt: z.number(),
});

/** Who decided an approval: the authenticated caller that sent the decision. */
export const ApprovalDeciderSchema = z.object({
  userId: z.string().optional(),
  tenantId: z.string().optional(),
});

/**
 * `approval_resolved` payload: the decision on a call that needed approval, as an audit reads it.
 * `approved: false` with `timedOut: true` means no decision arrived within the approval timeout.
 */
export const ApprovalResolvedPayloadSchema = z.object({
  callId: CallIdSchema,
  toolName: ToolNameSchema,
  /** Whether the tool may run. */
  approved: z.boolean(),
  /** The reason given with the decision, if any. */
  reason: z.string().max(MAX_APPROVAL_REASON_LENGTH).optional(),
  /** Who decided, when the decision came with an authenticated caller. */
  decidedBy: ApprovalDeciderSchema.optional(),
  /** Present (and `true`) when nobody decided in time. */
  timedOut: z.literal(true).optional(),
  /** Ms between `approval_required` and the decision. */
  waitedMs: z.number().nonnegative(),
});

const envelopeShape = {
  protocolVersion: z.string().min(1).max(20),
  sessionId: SessionIdSchema,
  /** Starts at 1, increases by one per event of the session, heartbeats included. */
  seq: z.number().int().positive(),
  /** Epoch ms at which the broker assigned the seq. */
  ts: z.number(),
};

function eventSchema<Type extends string, Payload extends z.ZodType>(type: Type, payload: Payload) {
  return z.object({ ...envelopeShape, type: z.literal(type), payload });
}

/** `session_init` event. */
export const SessionInitEventSchema = eventSchema('session_init', SessionInitPayloadSchema);
/** `stdout` event. */
export const StdoutEventSchema = eventSchema('stdout', StdoutPayloadSchema);
/** `log` event. */
export const LogEventSchema = eventSchema('log', LogPayloadSchema);
/** `tool_call` event. */
export const ToolCallEventSchema = eventSchema('tool_call', ToolCallPayloadSchema);
/** `tool_result_applied` event. */
export const ToolResultAppliedEventSchema = eventSchema(
  'tool_result_applied',
  ToolResultAppliedPayloadSchema,
);
/** `heartbeat` event. */
export const HeartbeatEventSchema = eventSchema('heartbeat', HeartbeatPayloadSchema);
/** `final` event. */
export const FinalEventSchema = eventSchema('final', FinalPayloadSchema);
/** `error` event. */
export const ErrorEventSchema = eventSchema('error', ErrorPayloadSchema);
/** `catalog_changed` event. */
export const CatalogChangedEventSchema = eventSchema('catalog_changed', CatalogChangedPayloadSchema);
/** `approval_required` event. */
export const ApprovalRequiredEventSchema = eventSchema('approval_required', ApprovalRequiredPayloadSchema);
/** `approval_resolved` event. */
export const ApprovalResolvedEventSchema = eventSchema('approval_resolved', ApprovalResolvedPayloadSchema);

/** Any plain (unencrypted) event, discriminated by `type`. */
export const StreamEventSchema = z.discriminatedUnion('type', [
  SessionInitEventSchema,
  StdoutEventSchema,
  LogEventSchema,
  ToolCallEventSchema,
  ToolResultAppliedEventSchema,
  HeartbeatEventSchema,
  FinalEventSchema,
  ErrorEventSchema,
  CatalogChangedEventSchema,
  ApprovalRequiredEventSchema,
  ApprovalResolvedEventSchema,
]);

/**
 * An encrypted event: the envelope stays readable (so resume and ordering work) and the
 * payload carries `{ type, payload }` of the real event, sealed with AES-256-GCM. The
 * additional authenticated data binds it to its session, seq and direction.
 */
export const EncryptedEventSchema = z.object({
  ...envelopeShape,
  type: z.literal('encrypted'),
  payload: z.object({
    /** 12-byte IV, base64. */
    iv: z.string().min(1).max(64),
    /** Ciphertext with the GCM tag, base64. */
    ciphertext: z.string(),
  }),
});

/** Anything that can appear on an event stream: a plain event or an encrypted one. */
export const WireEventSchema = z.discriminatedUnion('type', [
  SessionInitEventSchema,
  StdoutEventSchema,
  LogEventSchema,
  ToolCallEventSchema,
  ToolResultAppliedEventSchema,
  HeartbeatEventSchema,
  FinalEventSchema,
  ErrorEventSchema,
  CatalogChangedEventSchema,
  ApprovalRequiredEventSchema,
  ApprovalResolvedEventSchema,
  EncryptedEventSchema,
]);

/** `session_init` payload. */
export type SessionInitPayload = z.infer<typeof SessionInitPayloadSchema>;
/** `stdout` payload. */
export type StdoutPayload = z.infer<typeof StdoutPayloadSchema>;
/** `log` payload. */
export type LogPayload = z.infer<typeof LogPayloadSchema>;
/** `tool_call` payload. */
export type ToolCallPayload = z.infer<typeof ToolCallPayloadSchema>;
/** `tool_result_applied` payload. */
export type ToolResultAppliedPayload = z.infer<typeof ToolResultAppliedPayloadSchema>;
/** `heartbeat` payload. */
export type HeartbeatPayload = z.infer<typeof HeartbeatPayloadSchema>;
/** `final` payload. */
export type FinalPayload = z.infer<typeof FinalPayloadSchema>;
/** `error` payload. */
export type ErrorPayload = z.infer<typeof ErrorPayloadSchema>;
/** `catalog_changed` payload. */
export type CatalogChangedPayload = z.infer<typeof CatalogChangedPayloadSchema>;
/** `approval_required` payload. */
export type ApprovalRequiredPayload = z.infer<typeof ApprovalRequiredPayloadSchema>;
/** Who decided an approval. */
export type ApprovalDecider = z.infer<typeof ApprovalDeciderSchema>;
/** `approval_resolved` payload. */
export type ApprovalResolvedPayload = z.infer<typeof ApprovalResolvedPayloadSchema>;

/** `session_init` event. */
export type SessionInitEvent = z.infer<typeof SessionInitEventSchema>;
/** `stdout` event. */
export type StdoutEvent = z.infer<typeof StdoutEventSchema>;
/** `log` event. */
export type LogEvent = z.infer<typeof LogEventSchema>;
/** `tool_call` event. */
export type ToolCallEvent = z.infer<typeof ToolCallEventSchema>;
/** `tool_result_applied` event. */
export type ToolResultAppliedEvent = z.infer<typeof ToolResultAppliedEventSchema>;
/** `heartbeat` event. */
export type HeartbeatEvent = z.infer<typeof HeartbeatEventSchema>;
/** `final` event. */
export type FinalEvent = z.infer<typeof FinalEventSchema>;
/** `error` event. */
export type ErrorEvent = z.infer<typeof ErrorEventSchema>;
/** `catalog_changed` event. */
export type CatalogChangedEvent = z.infer<typeof CatalogChangedEventSchema>;
/** `approval_required` event. */
export type ApprovalRequiredEvent = z.infer<typeof ApprovalRequiredEventSchema>;
/** `approval_resolved` event. */
export type ApprovalResolvedEvent = z.infer<typeof ApprovalResolvedEventSchema>;
/** Any plain event. */
export type StreamEvent = z.infer<typeof StreamEventSchema>;
/** An encrypted event. */
export type EncryptedEvent = z.infer<typeof EncryptedEventSchema>;
/** A plain or encrypted event. */
export type WireEvent = z.infer<typeof WireEventSchema>;

/** Maps an event type to its payload type. */
export type EventPayloadMap = { [Event in StreamEvent as Event['type']]: Event['payload'] };

/**
 * Builds an event envelope. `ts` defaults to now.
 *
 * @example createEvent('ses_1', 2, 'stdout', { chunk: 'hi\n' })
 */
export function createEvent<Type extends EventType>(
  sessionId: string,
  seq: number,
  type: Type,
  payload: EventPayloadMap[Type],
  ts: number = Date.now(),
): Extract<StreamEvent, { type: Type }> {
  return { protocolVersion: PROTOCOL_VERSION, sessionId, seq, ts, type, payload } as Extract<
    StreamEvent,
    { type: Type }
  >;
}
