/** A tool call waiting for a person's approval (its `approval_required` event). */
export interface ApprovalRequest {
  /** The session whose code made the call. */
  sessionId: string;
  /** The id of the call, unique within the session: what `approve` and `deny` take. */
  callId: string;
  /** The tool the code called. */
  toolName: string;
  /** The arguments as the code passed them. */
  args: unknown;
  /** Epoch ms at which the call fails with `APPROVAL_TIMEOUT` unless someone decided. */
  expiresAt: number;
  /** Seq of the `approval_required` event. */
  seq: number;
}

/**
 * What `onApproval` answers: `true` or `{ approved: true }` lets the tool run; `false` or
 * `{ approved: false, reason }` makes the call throw `APPROVAL_DENIED` (with the reason) inside the
 * code. Any other answer is taken as a denial.
 */
export type ApprovalDecision = boolean | { approved: boolean; reason?: string };

/** What `onApproval` gets beside the request. */
export interface ApprovalContext {
  /**
   * Aborted when the decision is no longer wanted: the call's approval was decided elsewhere (another
   * tab, a server-side workflow) or timed out, or the session ended.
   */
  signal: AbortSignal;
}

/**
 * Decides a tool call that requires approval, e.g. by asking the user. The client sends the decision
 * to the broker (`POST /sessions/:id/approvals`, sealed in an encrypted session). A handler that
 * throws denies the call, with the error's message as the reason, and reports the error to
 * `onError`.
 *
 * @example
 * onApproval: async ({ toolName, args }) => window.confirm(`Allow ${toolName}(${JSON.stringify(args)})?`)
 */
export type ApprovalHandler = (
  request: ApprovalRequest,
  context: ApprovalContext,
) => ApprovalDecision | Promise<ApprovalDecision>;
