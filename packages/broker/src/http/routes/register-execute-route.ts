import type { ExecuteRequest } from '@enclave-vm/types';
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../route-context.js';
import { sendEventStream } from '../send-event-stream.js';

/**
 * `POST /execute`: starts a session and answers with its events as NDJSON (header `x-session-id`),
 * filtered by the request's `filter` (`session_init` and `final` always pass). Refusals (bad body,
 * concurrency cap) come before the stream as ordinary error answers. A client that disconnects
 * does not cancel the session; it can resume with `GET /sessions/:sessionId/events`.
 */
export function registerExecuteRoute(app: FastifyInstance, context: RouteContext): void {
  const { broker, guard } = context;
  app.post(
    '/execute',
    { onRequest: guard.authenticateAndLimit, bodyLimit: context.bodyLimit },
    async (request, reply) => {
      const caller = guard.callerOf(request);
      // startSession validates the body (VALIDATION_ERROR, 400) before anything else happens, so
      // once it returns the body is a valid ExecuteRequest; validating it here too would parse it twice.
      const body = request.body as ExecuteRequest;
      const session = await broker.startSession(body, caller);
      const events = broker.streamEvents(session.id, { fromSeq: 1, filter: body.filter, caller });
      await sendEventStream(reply, events[Symbol.asyncIterator](), {
        activeStreams: context.activeStreams,
        headers: { 'x-session-id': session.id },
        logger: context.logger,
      });
    },
  );
}
