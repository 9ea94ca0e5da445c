import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { type ReactElement, useState } from 'react';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApprovalRequest,
  EnclaveProvider,
  type UseEnclaveSessionOptions,
  useEnclaveSession,
} from '../src/index.js';
import { startTestBroker, type TestBroker } from './test-broker.js';

let server: TestBroker;
const deleted: string[] = [];
const asked: ApprovalRequest[] = [];
beforeAll(async () => {
  server = await startTestBroker();
  server.broker.tools.register({
    name: 'deleteUser',
    description: 'Delete a user',
    parameters: { id: { type: 'string', description: 'Who', required: true } },
    requiresApproval: true,
    handler: async ({ id }) => {
      deleted.push(String(id));
      return `deleted ${String(id)}`;
    },
  });
});
afterAll(() => server.close());

const DELETE_TWO = `
  const results = await Promise.allSettled([tools.deleteUser({ id: 'a' }), tools.deleteUser({ id: 'b' })]);
  return results.map((entry) => entry.status === 'fulfilled' ? entry.value : entry.reason.code + ' ' + entry.reason.message);
`;

/** A page that lists the calls waiting for approval, each with Approve and Deny. */
function ApprovalPage(props: { options?: UseEnclaveSessionOptions }): ReactElement {
  const session = useEnclaveSession(props.options);
  const [failure, setFailure] = useState('');
  return (
    <div>
      <button type="button" onClick={() => void session.execute(DELETE_TWO)}>
        Run
      </button>
      <p data-testid="state">{session.state}</p>
      <p data-testid="result">{JSON.stringify(session.result)}</p>
      <p data-testid="failure">{failure}</p>
      <ul aria-label="approvals">
        {session.pendingApprovals.map((request) => (
          <li key={request.callId}>
            <span>{`${request.toolName} ${JSON.stringify(request.args)}`}</span>
            <button type="button" onClick={() => void session.approve(request.callId)}>
              {`Approve ${JSON.stringify(request.args)}`}
            </button>
            <button
              type="button"
              onClick={() =>
                session
                  .deny(request.callId, 'not this one')
                  .catch((error: Error) => setFailure(error.message))
              }
            >
              {`Deny ${JSON.stringify(request.args)}`}
            </button>
          </li>
        ))}
      </ul>
      <ol aria-label="calls">
        {session.toolCalls.map((call) => (
          <li key={call.callId}>{`${call.toolName} ${call.status} approval=${call.approval?.status}`}</li>
        ))}
      </ol>
    </div>
  );
}

/** Approves only the user `b`, with the hook's own `onApproval`. */
function AutoApprove(): ReactElement {
  const [allowed] = useState('b');
  return (
    <ApprovalPage
      options={{
        onApproval: (request) => {
          asked.push(request);
          const { id } = request.args as { id: string };
          return id === allowed ? true : { approved: false, reason: `only ${allowed}` };
        },
      }}
    />
  );
}

const text = (testId: string): string => screen.getByTestId(testId).textContent ?? '';

describe('approvals in useEnclaveSession', () => {
  it('lists pendingApprovals and decides them with approve and deny', async () => {
    deleted.length = 0;
    render(
      <EnclaveProvider brokerUrl={server.url}>
        <ApprovalPage />
      </EnclaveProvider>,
    );
    fireEvent.click(screen.getByRole('button', { name: 'Run' }));
    await screen.findByRole('button', { name: 'Approve {"id":"a"}' });
    await screen.findByRole('button', { name: 'Deny {"id":"b"}' });
    expect(screen.getAllByRole('listitem').map((item) => item.textContent)).toContain(
      'deleteUser pending approval=pending',
    );

    fireEvent.click(screen.getByRole('button', { name: 'Approve {"id":"a"}' }));
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Approve {"id":"a"}' })).toBeNull());
    fireEvent.click(screen.getByRole('button', { name: 'Deny {"id":"b"}' }));
    await waitFor(() => expect(text('state')).toBe('completed'));
    expect(text('result')).toBe(
      '["deleted a","APPROVAL_DENIED The call of tool deleteUser was denied: not this one"]',
    );
    expect(text('failure')).toBe('');
    expect(screen.getByRole('list', { name: 'approvals' }).children).toHaveLength(0);
    expect([...screen.getByRole('list', { name: 'calls' }).children].map((item) => item.textContent)).toEqual(
      ['deleteUser completed approval=approved', 'deleteUser error approval=denied'],
    );
    expect(deleted).toEqual(['a']);
  });

  it('lets a hook-level onApproval decide, looked up at the time it is asked', async () => {
    deleted.length = 0;
    asked.length = 0;
    render(
      <EnclaveProvider brokerUrl={server.url}>
        <AutoApprove />
      </EnclaveProvider>,
    );
    fireEvent.click(screen.getByRole('button', { name: 'Run' }));
    await waitFor(() => expect(text('state')).toBe('completed'));
    expect(text('result')).toBe(
      '["APPROVAL_DENIED The call of tool deleteUser was denied: only b","deleted b"]',
    );
    expect(asked.map((request) => request.args)).toEqual([{ id: 'a' }, { id: 'b' }]);
    expect(deleted).toEqual(['b']);
  });
});
