import { z } from 'zod';
import { SessionIdSchema } from './ids.js';

/**
 * Client → server, first message on the broker's event WebSocket (`/sessions/stream`): start
 * sending the session's events from `fromSeq` (inclusive), replayed then live, until `final`.
 * `token` carries credentials for browsers, which cannot set headers on a WebSocket.
 */
export const SubscribeMessageSchema = z.strictObject({
  type: z.literal('subscribe'),
  sessionId: SessionIdSchema,
  fromSeq: z.number().int().positive(),
  token: z.string().max(8192).optional(),
});

/** Client → server subscription request. */
export type SubscribeMessage = z.infer<typeof SubscribeMessageSchema>;

/**
 * Server → client: the subscription cannot be served. Sent before the server closes the socket;
 * the client does not reconnect unless the code is retryable.
 */
export const StreamErrorMessageSchema = z.object({
  type: z.literal('stream_error'),
  code: z.string().min(1).max(100),
  message: z.string(),
});

/** Server → client subscription failure. */
export type StreamErrorMessage = z.infer<typeof StreamErrorMessageSchema>;
