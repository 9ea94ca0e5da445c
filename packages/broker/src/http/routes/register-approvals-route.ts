import {
  ApprovalDecisionRequestSchema,
  type ApprovalDecisionResponse,
  EnclaveError,
} from '@enclave-vm/types';
import type { FastifyInstance } from 'fastify';
import { parseBody } from '../../parse-body.js';
import { parseSessionId } from '../parse-session-id.js';
import type { RouteContext } from '../route-context.js';

/**
 * `POST /sessions/:sessionId/approvals`: the decision `{ callId, approved, reason? }` on a tool call
 * waiting for approval — in an encrypted session `{ callId, encrypted }`, the sealed
 * `{ type: 'approval', callId, approved, reason? }`. The authenticated caller is recorded as who
 * decided. Answers `{ success: true }`.
 */
export function registerApprovalsRoute(app: FastifyInstance, context: RouteContext): void {
  const { broker, guard } = context;
  app.post<{ Params: { sessionId: string } }>(
    '/sessions/:sessionId/approvals',
    { onRequest: guard.authenticateAndLimit, bodyLimit: context.bodyLimit },
    async (request): Promise<ApprovalDecisionResponse> => {
      const sessionId = parseSessionId(request.params.sessionId);
      const body = parseBody(ApprovalDecisionRequestSchema, request.body, 'approval');
      const caller = guard.callerOf(request);
      if (body.encrypted !== undefined) {
        if (body.approved !== undefined || body.reason !== undefined) {
          throw new EnclaveError(
            'VALIDATION_ERROR',
            'approval: send either encrypted or approved/reason, not both',
          );
        }
        await broker.submitSealedApproval(sessionId, body.callId, body.encrypted, caller);
      } else {
        if (body.approved === undefined) {
          throw new EnclaveError('VALIDATION_ERROR', 'approval: approved is required (true or false)', {
            details: { issues: [{ path: 'approved', message: 'approved is required (true or false)' }] },
          });
        }
        await broker.submitApproval(sessionId, body.callId, body.approved, body.reason, caller);
      }
      return { success: true };
    },
  );
}
