import { EnclaveError, ToolResultRequestSchema, type ToolResultResponse } from '@enclave-vm/types';
import type { FastifyInstance } from 'fastify';
import { parseBody } from '../../parse-body.js';
import { parseSessionId } from '../parse-session-id.js';
import type { RouteContext } from '../route-context.js';

/**
 * `POST /sessions/:sessionId/tool-result`: the client's answer `{ callId, result, error? }` to a
 * tool call the session handed to it — in an encrypted session `{ callId, encrypted }`, the sealed
 * `{ callId, result?, error? }`. Answers `{ success: true }`.
 */
export function registerToolResultRoute(app: FastifyInstance, context: RouteContext): void {
  const { broker, guard } = context;
  app.post<{ Params: { sessionId: string } }>(
    '/sessions/:sessionId/tool-result',
    { onRequest: guard.authenticateAndLimit, bodyLimit: context.bodyLimit },
    async (request): Promise<ToolResultResponse> => {
      const sessionId = parseSessionId(request.params.sessionId);
      const body = parseBody(ToolResultRequestSchema, request.body, 'tool result');
      const caller = guard.callerOf(request);
      if (body.encrypted !== undefined) {
        if (body.result !== undefined || body.error !== undefined) {
          throw new EnclaveError(
            'VALIDATION_ERROR',
            'tool result: send either encrypted or result/error, not both',
          );
        }
        await broker.submitSealedToolResult(sessionId, body.callId, body.encrypted, caller);
      } else {
        await broker.submitToolResult(sessionId, body.callId, body.result, body.error, caller);
      }
      return { success: true };
    },
  );
}
