import { type ApprovalRequiredPayload, EnclaveError } from '@enclave-vm/types';
import type { ApprovalDecision, ApprovalHandler, ApprovalRequest } from './approval-request.js';

/** A decision as it is sent: `{ approved, reason? }`. */
export interface SentDecision {
  approved: boolean;
  reason?: string;
}

/** Options of {@link ApprovalRunner}. */
export interface ApprovalRunnerOptions {
  /** The user's handler. */
  handler: ApprovalHandler;
  /** The session the calls belong to. */
  sessionId: () => string;
  /** Delivers a decision to the broker. */
  post: (callId: string, decision: SentDecision) => Promise<void>;
  /** Called when the handler threw, or a decision could not be delivered. */
  onFailure: (error: EnclaveError) => void;
}

/** Longest reason sent (the broker accepts 10,000 characters). */
const MAX_REASON_LENGTH = 10_000;

/**
 * Decides the approvals a session asks for with the user's `onApproval`: calls it for each
 * `approval_required` (with a signal aborted once the decision is no longer wanted), and posts its
 * decision. Several approvals are decided concurrently.
 */
export class ApprovalRunner {
  private readonly running = new Map<string, AbortController>();
  private stopped = false;

  constructor(private readonly options: ApprovalRunnerOptions) {}

  /** Starts deciding an approval; returns at once. */
  run(payload: ApprovalRequiredPayload, seq: number): void {
    if (this.stopped || this.running.has(payload.callId)) return;
    const controller = new AbortController();
    this.running.set(payload.callId, controller);
    const request: ApprovalRequest = {
      sessionId: this.options.sessionId(),
      callId: payload.callId,
      toolName: payload.toolName,
      args: payload.args,
      expiresAt: payload.expiresAt,
      seq,
    };
    void this.decide(request, controller.signal).finally(() => {
      if (this.running.get(payload.callId) === controller) this.running.delete(payload.callId);
    });
  }

  /** The approval was decided (here or elsewhere) or timed out: the handler's answer is no longer wanted. */
  settle(callId: string): void {
    const controller = this.running.get(callId);
    if (controller === undefined) return;
    this.running.delete(callId);
    controller.abort(
      new EnclaveError('APPROVAL_ALREADY_RESOLVED', `The approval of tool call ${callId} was decided`),
    );
  }

  /** The session ended: aborts every pending handler and ignores later requests. */
  stop(reason: EnclaveError): void {
    this.stopped = true;
    for (const controller of this.running.values()) controller.abort(reason);
    this.running.clear();
  }

  private async decide(request: ApprovalRequest, signal: AbortSignal): Promise<void> {
    let decision: SentDecision;
    try {
      decision = toSentDecision(await this.options.handler(request, { signal }));
    } catch (error) {
      if (signal.aborted) return;
      const message = error instanceof Error ? error.message : String(error);
      decision = { approved: false, reason: `onApproval failed: ${message}`.slice(0, MAX_REASON_LENGTH) };
      this.options.onFailure(
        new EnclaveError('INTERNAL_ERROR', `onApproval threw while deciding tool call ${request.callId}`, {
          cause: error,
        }),
      );
    }
    if (signal.aborted) return;
    try {
      await this.options.post(request.callId, decision);
    } catch (error) {
      if (signal.aborted) return;
      this.options.onFailure(
        EnclaveError.isInstance(error)
          ? error
          : new EnclaveError('INTERNAL_ERROR', 'Could not deliver a decision on an approval', {
              cause: error,
            }),
      );
    }
  }
}

/** Only `true` and `{ approved: true }` approve: anything else is a denial. */
export function toSentDecision(decision: ApprovalDecision | unknown): SentDecision {
  if (decision === true) return { approved: true };
  if (typeof decision === 'object' && decision !== null) {
    const { approved, reason } = decision as { approved?: unknown; reason?: unknown };
    const sent: SentDecision = { approved: approved === true };
    if (typeof reason === 'string') sent.reason = reason.slice(0, MAX_REASON_LENGTH);
    return sent;
  }
  return { approved: false };
}
