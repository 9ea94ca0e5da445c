import type { ToolCallApproval } from '@enclave-vm/react';
import { type ReactElement, useState } from 'react';
import { StatusBadge } from './status-badge.js';

/** Props of {@link ApprovalBox}. */
export interface ApprovalBoxProps {
  /** The call whose approval is shown. */
  callId: string;
  /** Its approval, from the store. */
  approval: ToolCallApproval;
  /** Approves the call: the tool runs. */
  onApprove: (callId: string) => Promise<void>;
  /** Denies the call: it throws `APPROVAL_DENIED` with `reason` inside the code. */
  onDeny: (callId: string, reason?: string) => Promise<void>;
}

/**
 * The approval of one tool call: while it waits, Approve and Deny (with an optional reason); once
 * decided, the decision, its reason and who decided. A refused decision (decided elsewhere, timed
 * out) shows its code.
 */
export function ApprovalBox({ callId, approval, onApprove, onDeny }: ApprovalBoxProps): ReactElement {
  const [reason, setReason] = useState('');
  const [sending, setSending] = useState(false);
  const [failure, setFailure] = useState<string | undefined>(undefined);
  const send = (decide: () => Promise<void>): void => {
    setSending(true);
    setFailure(undefined);
    decide().then(
      () => setSending(false),
      (error: unknown) => {
        setSending(false);
        const code = (error as { code?: unknown }).code;
        setFailure(`${typeof code === 'string' ? `${code}: ` : ''}${(error as Error).message}`);
      },
    );
  };
  if (approval.status !== 'pending') {
    return (
      <div className="approval" data-testid="approval" data-status={approval.status}>
        <span>Approval</span>
        <StatusBadge
          status={approval.status === 'approved' ? 'completed' : 'error'}
          label={approval.status}
        />
        {approval.reason === undefined ? null : <span className="approval-reason">{approval.reason}</span>}
        {approval.decidedBy?.userId === undefined ? null : (
          <span className="approval-reason">by {approval.decidedBy.userId}</span>
        )}
      </div>
    );
  }
  const seconds = Math.max(0, Math.round((approval.expiresAt - Date.now()) / 1000));
  return (
    <div
      className="confirm approval"
      role="alertdialog"
      aria-label="Approval needed"
      aria-describedby={`approval-${callId}`}
      data-testid="approval"
      data-status="pending"
    >
      <p id={`approval-${callId}`}>{`This call waits for your approval (about ${seconds} s left).`}</p>
      <input
        type="text"
        aria-label="Reason"
        placeholder="Reason (shown to the code on Deny)"
        value={reason}
        onChange={(event) => setReason(event.target.value)}
      />
      <div className="confirm-buttons">
        <button
          type="button"
          className="primary"
          disabled={sending}
          onClick={() => send(() => onApprove(callId))}
        >
          Approve
        </button>
        <button
          type="button"
          disabled={sending}
          onClick={() => send(() => onDeny(callId, reason.trim() === '' ? undefined : reason.trim()))}
        >
          Deny
        </button>
      </div>
      {failure === undefined ? null : (
        <p className="error-text approval-failure" role="alert">
          {failure}
        </p>
      )}
    </div>
  );
}
