import '@fastify/websocket';
import {
  EnclaveError,
  type StreamErrorMessage,
  type StreamEvent,
  type SubscribeMessage,
  SubscribeMessageSchema,
  validate,
} from '@enclave-vm/types';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type RawData, WebSocket } from 'ws';
import { pumpEvents } from '../pump-events.js';
import type { RouteContext } from '../route-context.js';
import { toHttpError } from '../to-http-error.js';

/** Ms a new connection may take to send its subscribe message before it is closed. @default 10000 */
export const SUBSCRIBE_TIMEOUT_MS = 10_000;

/** Buffered bytes above which sending waits for the socket to flush. */
const HIGH_WATER_BYTES = 1_048_576;

/** Close codes: normal end after `final`, server going away, refused request, server failure. */
const CLOSE_NORMAL = 1000;
const CLOSE_GOING_AWAY = 1001;
const CLOSE_POLICY = 1008;
const CLOSE_SERVER_ERROR = 1011;

/**
 * `GET /sessions/stream`, a WebSocket speaking the subscription protocol of `@enclave-vm/types`:
 * the client sends `{ type: 'subscribe', sessionId, fromSeq, token? }`; the server sends the
 * session's events as JSON text frames from `fromSeq`, replayed then live, and closes after `final`,
 * or sends `{ type: 'stream_error', code, message }` and closes. `ReconnectingStream` from
 * `@enclave-vm/stream` consumes it. Credentials come from `token`, else from the upgrade request's
 * headers. A plain GET without an upgrade gets `BAD_REQUEST`.
 */
export function registerEventSocketRoute(app: FastifyInstance, context: RouteContext): void {
  app.route({
    method: 'GET',
    url: '/sessions/stream',
    onRequest: context.guard.limitOnly,
    handler: async () => {
      throw new EnclaveError(
        'BAD_REQUEST',
        'This endpoint is a WebSocket: open it with an Upgrade request, then send { "type": "subscribe", "sessionId", "fromSeq" }',
      );
    },
    wsHandler: (socket, request) => serveSubscription(socket, request, context),
  });
}

function serveSubscription(socket: WebSocket, request: FastifyRequest, context: RouteContext): void {
  const stream = context.activeStreams.open();
  let subscribed = false;
  const timer = setTimeout(() => {
    subscribed = true;
    fail(
      socket,
      new EnclaveError('PROTOCOL_ERROR', `No subscribe message within ${SUBSCRIBE_TIMEOUT_MS} ms`),
      context,
    );
  }, SUBSCRIBE_TIMEOUT_MS);
  socket.on('close', () => {
    clearTimeout(timer);
    stream.stop();
    stream.release();
  });
  socket.on('message', (data, isBinary) => {
    // One subscription per connection; later messages have no meaning and are ignored.
    if (subscribed) return;
    subscribed = true;
    clearTimeout(timer);
    void subscribe(data, isBinary);
  });

  async function subscribe(data: RawData, isBinary: boolean): Promise<void> {
    try {
      const message = parseSubscribeMessage(data, isBinary);
      const caller = await context.guard.authenticateSubscriber(message.token, request.headers);
      const events = context.broker.streamEvents(message.sessionId, { fromSeq: message.fromSeq, caller });
      const outcome = await pumpEvents(events[Symbol.asyncIterator](), stream.signal, (event) =>
        sendEvent(socket, event),
      );
      if (socket.readyState === WebSocket.OPEN) {
        if (outcome === 'ended') socket.close(CLOSE_NORMAL, 'final');
        else socket.close(CLOSE_GOING_AWAY, 'server closing');
      }
    } catch (error) {
      fail(socket, error, context);
    }
  }
}

function parseSubscribeMessage(data: RawData, isBinary: boolean): SubscribeMessage {
  if (isBinary) throw new EnclaveError('PROTOCOL_ERROR', 'The subscribe message must be a JSON text frame');
  let value: unknown;
  try {
    value = JSON.parse(rawDataToString(data));
  } catch {
    throw new EnclaveError('PROTOCOL_ERROR', 'The subscribe message is not valid JSON');
  }
  const parsed = validate(SubscribeMessageSchema, value);
  if (!parsed.success) {
    // An id that cannot name a session is answered like an unknown one, as on the HTTP routes.
    const badIdOnly = parsed.issues.every(
      (issue) => issue.path.length === 1 && issue.path[0] === 'sessionId',
    );
    if (badIdOnly) throw new EnclaveError('SESSION_NOT_FOUND', 'Session not found');
    throw new EnclaveError('PROTOCOL_ERROR', `Invalid subscribe message: ${parsed.message}`);
  }
  return parsed.data;
}

function rawDataToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

function sendEvent(socket: WebSocket, event: StreamEvent): void | Promise<void> {
  if (socket.readyState !== WebSocket.OPEN) return;
  const text = JSON.stringify(event);
  if (socket.bufferedAmount < HIGH_WATER_BYTES) {
    socket.send(text);
    return;
  }
  return new Promise((resolve) => socket.send(text, () => resolve()));
}

function fail(socket: WebSocket, value: unknown, context: RouteContext): void {
  const error = toHttpError(value);
  if (error.httpStatus >= 500) {
    context.logger?.error('WebSocket subscription failed', {
      code: error.code,
      error: String(error.cause ?? error),
    });
  }
  if (socket.readyState !== WebSocket.OPEN) return;
  const message: StreamErrorMessage = { type: 'stream_error', code: error.code, message: error.message };
  socket.send(JSON.stringify(message));
  socket.close(error.httpStatus >= 500 ? CLOSE_SERVER_ERROR : CLOSE_POLICY, error.code.slice(0, 100));
}
