import { SessionIdSchema, type ValidationResult } from '@enclave-vm/types';

/**
 * Largest runtime-channel message accepted, in bytes: room for the largest tool result a preset
 * allows (16 MiB under PERMISSIVE) plus its envelope.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 20 * 1024 * 1024;

/** Why an incoming channel message was rejected: sent back as a channel `error` (code `PROTOCOL_ERROR`). */
export interface ChannelMessageProblem {
  /** Always `PROTOCOL_ERROR`. */
  code: 'PROTOCOL_ERROR';
  /** Readable reason, e.g. `sessionId: session id must be ...`. */
  message: string;
  /** The message's session id, when it had a valid one despite its other faults. */
  sessionId?: string;
  /** Validation issues, when the shape was wrong. */
  details?: unknown;
}

/** The outcome of {@link decodeChannelMessage}. */
export type DecodedChannelMessage<Message> =
  | { ok: true; message: Message }
  | { ok: false; problem: ChannelMessageProblem };

/**
 * Turns one frame received on a WebSocket (a string, or bytes from `ws` or a browser) into a
 * validated message, or explains what is wrong with it: too large, not JSON, or the wrong shape.
 * `parse` checks the shape, e.g. `(value) => validate(BrokerToRuntimeMessageSchema, value)`.
 */
export function decodeChannelMessage<Message>(
  data: unknown,
  parse: (value: unknown) => ValidationResult<Message>,
  maxBytes: number,
): DecodedChannelMessage<Message> {
  const size = byteLengthOf(data);
  if (size === undefined) {
    return problem(`Unsupported frame data (${typeof data}); send JSON text`);
  }
  if (size > maxBytes) {
    return problem(`Message of ${size} bytes exceeds the limit of ${maxBytes} bytes`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(textOf(data));
  } catch (error) {
    return problem(`Message is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const result = parse(parsed);
  if (result.success) return { ok: true, message: result.data };
  const sessionId = sessionIdOf(parsed);
  return {
    ok: false,
    problem: {
      code: 'PROTOCOL_ERROR',
      message: `Invalid message: ${result.message}`,
      ...(sessionId === undefined ? {} : { sessionId }),
      details: result.issues
        .slice(0, 20)
        .map((issue) => ({ path: issue.path.map(String), message: issue.message })),
    },
  };
}

function problem(message: string): { ok: false; problem: ChannelMessageProblem } {
  return { ok: false, problem: { code: 'PROTOCOL_ERROR', message } };
}

function byteLengthOf(data: unknown): number | undefined {
  if (typeof data === 'string') return Buffer.byteLength(data, 'utf8');
  if (data instanceof ArrayBuffer) return data.byteLength;
  if (ArrayBuffer.isView(data)) return data.byteLength;
  if (Array.isArray(data) && data.every((part) => Buffer.isBuffer(part))) {
    return data.reduce((total: number, part: Buffer) => total + part.byteLength, 0);
  }
  return undefined;
}

function textOf(data: unknown): string {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  if (ArrayBuffer.isView(data))
    return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  return Buffer.concat(data as Buffer[]).toString('utf8');
}

/** The session id of an invalid message, so the peer can tell which session the error is about. */
function sessionIdOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const candidate = (value as { sessionId?: unknown }).sessionId;
  return SessionIdSchema.safeParse(candidate).success ? (candidate as string) : undefined;
}
