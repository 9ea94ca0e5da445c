import { EnclaveError, ResumeQuerySchema, type StreamEvent } from '@enclave-vm/types';
import type { FastifyInstance } from 'fastify';
import { parseBody } from '../../parse-body.js';
import { parseSessionId } from '../parse-session-id.js';
import type { RouteContext } from '../route-context.js';
import { sendEventStream } from '../send-event-stream.js';

/**
 * `GET /sessions/:sessionId/events?fromSeq=N`: NDJSON of every logged event with `seq ≥ N`, then the
 * live ones, until `final`. An unknown session or a `fromSeq` older than the bounded log still
 * gets an error status (404, 410) rather than an empty stream.
 */
export function registerEventsRoute(app: FastifyInstance, context: RouteContext): void {
  const { broker, guard } = context;
  app.get<{ Params: { sessionId: string } }>(
    '/sessions/:sessionId/events',
    { onRequest: guard.authenticateAndLimit },
    async (request, reply) => {
      const sessionId = parseSessionId(request.params.sessionId);
      const { fromSeq } = parseBody(ResumeQuerySchema, request.query, 'query');
      const caller = guard.callerOf(request);
      const session = await broker.getSession(sessionId, caller);
      if (session === null) throw new EnclaveError('SESSION_NOT_FOUND', `Session ${sessionId} not found`);
      // HEAD asks whether the stream exists; following it would hold the connection for nothing.
      if (request.method === 'HEAD') {
        return reply.type('application/x-ndjson; charset=utf-8').header('x-session-id', sessionId).send();
      }
      const iterator = broker.streamEvents(sessionId, { fromSeq, caller })[Symbol.asyncIterator]();
      // When the first wanted event is already logged, take it before answering, so that a log that
      // no longer holds it (EVENT_LOG_TRUNCATED) is still an error status. Otherwise the wait may be
      // long (the next live event), and the headers go out at once.
      let first: IteratorResult<StreamEvent> | undefined;
      if (fromSeq <= session.lastSeq) first = await iterator.next();
      await sendEventStream(reply, iterator, {
        activeStreams: context.activeStreams,
        headers: { 'x-session-id': sessionId },
        first,
        logger: context.logger,
      });
    },
  );
}
