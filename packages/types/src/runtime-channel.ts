import { z } from 'zod';
import { ErrorPayloadSchema, FinalPayloadSchema, LogPayloadSchema, StdoutPayloadSchema } from './events.js';
import { CallIdSchema, SessionIdSchema, ToolNameSchema } from './ids.js';
import { SessionLimitsSchema } from './limits.js';
import { WireErrorSchema } from './wire-error.js';

/**
 * Events a runtime emits for one run, before the broker wraps them in envelopes and numbers them.
 * The broker adds `session_init`, `tool_result_applied` and `heartbeat` itself, and decides who
 * answers a tool call.
 */
export const RuntimeEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('stdout'), payload: StdoutPayloadSchema }),
  z.object({ type: z.literal('log'), payload: LogPayloadSchema }),
  z.object({
    type: z.literal('tool_call'),
    payload: z.object({ callId: CallIdSchema, toolName: ToolNameSchema, args: z.unknown() }),
  }),
  z.object({ type: z.literal('error'), payload: ErrorPayloadSchema }),
  z.object({ type: z.literal('final'), payload: FinalPayloadSchema }),
]);

/** An event a runtime emits for one run. */
export type RuntimeEvent = z.infer<typeof RuntimeEventSchema>;

const pingShape = { id: z.number().int().nonnegative(), ts: z.number() };

/** Broker → runtime: start a run. */
export const ExecuteMessageSchema = z.object({
  type: z.literal('execute'),
  sessionId: SessionIdSchema,
  code: z.string().min(1),
  limits: SessionLimitsSchema,
  context: z.record(z.string(), z.unknown()).optional(),
});

/** Broker → runtime: the answer to one tool call. */
export const ToolResultMessageSchema = z.object({
  type: z.literal('tool_result'),
  sessionId: SessionIdSchema,
  callId: CallIdSchema,
  ok: z.boolean(),
  result: z.unknown().optional(),
  error: WireErrorSchema.optional(),
});

/** Broker → runtime: stop a run. The runtime answers with `error` + `final` events (code `CANCELLED`). */
export const CancelMessageSchema = z.object({
  type: z.literal('cancel'),
  sessionId: SessionIdSchema,
  reason: z.string().max(1000).optional(),
});

/** Either side: liveness probe; the other side answers `pong` with the same id. */
export const PingMessageSchema = z.object({ type: z.literal('ping'), ...pingShape });

/** Either side: answer to `ping`. */
export const PongMessageSchema = z.object({ type: z.literal('pong'), ...pingShape });

/** Runtime → broker, first message on a connection: who it is and how much it can take. */
export const HelloMessageSchema = z.object({
  type: z.literal('hello'),
  protocolVersion: z.string(),
  workerId: z.string().min(1).max(200),
  maxSessions: z.number().int().positive(),
  poolSize: z.number().int().positive(),
});

/** Runtime → broker: current load, sent on change and periodically. */
export const LoadMessageSchema = z.object({
  type: z.literal('load'),
  activeSessions: z.number().int().nonnegative(),
  maxSessions: z.number().int().positive(),
  poolSize: z.number().int().positive(),
  /**
   * Of the active sessions, those parked right now: waiting on tool calls with their engine instance
   * freed (see the runtime's `parkAfterMs`). Workers of earlier versions leave it out.
   */
  parkedSessions: z.number().int().nonnegative().optional(),
});

/** Runtime → broker: events of one session, in order (several per message when they come together). */
export const EventsMessageSchema = z.object({
  type: z.literal('events'),
  sessionId: SessionIdSchema,
  events: z.array(RuntimeEventSchema).min(1),
});

/** Either side: a message could not be handled (invalid, unknown session, ...). */
export const ChannelErrorMessageSchema = z.object({
  type: z.literal('error'),
  code: z.string().min(1).max(100),
  message: z.string(),
  sessionId: SessionIdSchema.optional(),
  details: z.unknown().optional(),
});

/** Every message a broker sends to a runtime worker. */
export const BrokerToRuntimeMessageSchema = z.discriminatedUnion('type', [
  ExecuteMessageSchema,
  ToolResultMessageSchema,
  CancelMessageSchema,
  PingMessageSchema,
  PongMessageSchema,
]);

/** Every message a runtime worker sends to a broker. */
export const RuntimeToBrokerMessageSchema = z.discriminatedUnion('type', [
  HelloMessageSchema,
  LoadMessageSchema,
  EventsMessageSchema,
  ChannelErrorMessageSchema,
  PingMessageSchema,
  PongMessageSchema,
]);

/** Broker → runtime: start a run. */
export type ExecuteMessage = z.infer<typeof ExecuteMessageSchema>;
/** Broker → runtime: the answer to one tool call. */
export type ToolResultMessage = z.infer<typeof ToolResultMessageSchema>;
/** Broker → runtime: stop a run. */
export type CancelMessage = z.infer<typeof CancelMessageSchema>;
/** Liveness probe. */
export type PingMessage = z.infer<typeof PingMessageSchema>;
/** Answer to a liveness probe. */
export type PongMessage = z.infer<typeof PongMessageSchema>;
/** Runtime greeting. */
export type HelloMessage = z.infer<typeof HelloMessageSchema>;
/** Runtime load report. */
export type LoadMessage = z.infer<typeof LoadMessageSchema>;
/** Runtime events of one session. */
export type EventsMessage = z.infer<typeof EventsMessageSchema>;
/** A message could not be handled. */
export type ChannelErrorMessage = z.infer<typeof ChannelErrorMessageSchema>;
/** Every message a broker sends to a runtime worker. */
export type BrokerToRuntimeMessage = z.infer<typeof BrokerToRuntimeMessageSchema>;
/** Every message a runtime worker sends to a broker. */
export type RuntimeToBrokerMessage = z.infer<typeof RuntimeToBrokerMessageSchema>;
