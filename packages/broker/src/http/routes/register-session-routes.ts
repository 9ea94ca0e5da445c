import { type CancelSessionResponse, EnclaveError, type SessionInfo } from '@enclave-vm/types';
import type { FastifyInstance } from 'fastify';
import { parseSessionId } from '../parse-session-id.js';
import type { RouteContext } from '../route-context.js';
import { toSessionInfo } from '../to-session-info.js';

interface SessionParams {
  sessionId: string;
}

/**
 * `GET /sessions/:sessionId` (the session's {@link SessionInfo}) and `DELETE /sessions/:sessionId`
 * (cancel; answers {@link CancelSessionResponse}; any request body is ignored). Another tenant's session is `SESSION_NOT_FOUND`.
 */
export function registerSessionRoutes(app: FastifyInstance, context: RouteContext): void {
  const { broker, guard } = context;
  app.get<{ Params: SessionParams }>(
    '/sessions/:sessionId',
    { onRequest: guard.authenticateAndLimit },
    async (request): Promise<SessionInfo> => {
      const sessionId = parseSessionId(request.params.sessionId);
      const session = await broker.getSession(sessionId, guard.callerOf(request));
      if (session === null) throw new EnclaveError('SESSION_NOT_FOUND', `Session ${sessionId} not found`);
      return toSessionInfo(session);
    },
  );
  // Cancel takes no body, but clients often send `content-type: application/json` on every request;
  // in its own scope any body (within bodyLimit) is read and ignored instead of refused.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: context.bodyLimit },
      (_request, _body, done) => done(null, undefined),
    );
    scope.delete<{ Params: SessionParams }>(
      '/sessions/:sessionId',
      { onRequest: guard.authenticateAndLimit, bodyLimit: context.bodyLimit },
      async (request): Promise<CancelSessionResponse> => {
        const sessionId = parseSessionId(request.params.sessionId);
        const session = await broker.cancelSession(sessionId, guard.callerOf(request));
        return { success: true, sessionId: session.id, status: session.status };
      },
    );
  });
}
