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
      // The stream validates the body (VALIDATION_ERROR, 400) before anything else happens; its
      // first event (session_init) is taken before answering, so that a refused request (bad body,
      // session cap) is an error status rather than an empty stream.
      const events = broker.executeRequest(request.body as ExecuteRequest, caller)[Symbol.asyncIterator]();
      const first = await events.next();
      const sessionId = first.done === true ? '' : first.value.sessionId;
      await sendEventStream(reply, events, {
        activeStreams: context.activeStreams,
        headers: { 'x-session-id': sessionId },
        first,
        logger: context.logger,
      });
    },
  );
}
