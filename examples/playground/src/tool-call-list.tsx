import type { ToolCallRecord } from '@enclave-vm/react';
import type { ReactElement } from 'react';
import { ApprovalBox } from './approval-box.js';
import { formatJson } from './format-json.js';
import { StatusBadge } from './status-badge.js';
import type { ConfirmRequest } from './use-confirm-requests.js';

/** Props of {@link ToolCallList}. */
export interface ToolCallListProps {
  toolCalls: readonly ToolCallRecord[];
  /** Questions of `confirm` calls waiting for an answer, by call id. */
  confirmRequests: ReadonlyMap<string, ConfirmRequest>;
  /** Approves a call waiting for approval. */
  onApprove: (callId: string) => Promise<void>;
  /** Denies a call waiting for approval, with an optional reason. */
  onDeny: (callId: string, reason?: string) => Promise<void>;
}

/**
 * Every tool call of the run, in call order: who answers it, its arguments, its status, and its
 * result or error. A `confirm` call waiting for the page shows its question with Yes and No; a call
 * waiting for approval shows Approve and Deny, and a decided one its decision.
 */
export function ToolCallList({
  toolCalls,
  confirmRequests,
  onApprove,
  onDeny,
}: ToolCallListProps): ReactElement {
  return (
    <section className="panel" aria-labelledby="tool-calls-heading">
      <h2 id="tool-calls-heading">
        Tool calls <span className="count">{toolCalls.length}</span>
      </h2>
      {toolCalls.length === 0 ? (
        <p className="empty">No tool calls yet.</p>
      ) : (
        <ol className="tool-calls">
          {toolCalls.map((call) => (
            <ToolCallCard
              key={call.callId}
              call={call}
              request={confirmRequests.get(call.callId)}
              onApprove={onApprove}
              onDeny={onDeny}
            />
          ))}
        </ol>
      )}
    </section>
  );
}

function ToolCallCard({
  call,
  request,
  onApprove,
  onDeny,
}: {
  call: ToolCallRecord;
  request: ConfirmRequest | undefined;
  onApprove: (callId: string) => Promise<void>;
  onDeny: (callId: string, reason?: string) => Promise<void>;
}): ReactElement {
  return (
    <li className="tool-call" data-testid="tool-call" data-status={call.status}>
      <div className="tool-call-header">
        <code className="tool-name">{call.toolName}</code>
        <StatusBadge status={call.answeredBy} label={call.answeredBy === 'client' ? 'page' : 'broker'} />
        <span className="spacer" />
        {call.durationMs === undefined ? null : (
          <span className="duration">{Math.round(call.durationMs)} ms</span>
        )}
        <StatusBadge status={call.status} />
      </div>
      <dl className="tool-call-body">
        <dt>Arguments</dt>
        <dd>
          <pre>{formatJson(call.args)}</pre>
        </dd>
        {call.status === 'completed' ? (
          <>
            <dt>Result</dt>
            <dd>
              <pre>{formatJson(call.result)}</pre>
            </dd>
          </>
        ) : null}
        {call.status === 'error' && call.error !== undefined ? (
          <>
            <dt>Error</dt>
            <dd>
              <pre className="error-text">{`${call.error.code}: ${call.error.message}`}</pre>
            </dd>
          </>
        ) : null}
      </dl>
      {call.approval === undefined ? null : (
        <ApprovalBox callId={call.callId} approval={call.approval} onApprove={onApprove} onDeny={onDeny} />
      )}
      {request === undefined ? null : (
        <div
          className="confirm"
          role="alertdialog"
          aria-label="The code asks"
          aria-describedby={`question-${call.callId}`}
        >
          <p id={`question-${call.callId}`}>{request.question}</p>
          <div className="confirm-buttons">
            <button type="button" className="primary" onClick={() => request.answer(true)}>
              Yes
            </button>
            <button type="button" onClick={() => request.answer(false)}>
              No
            </button>
          </div>
        </div>
      )}
    </li>
  );
}
