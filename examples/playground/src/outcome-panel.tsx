import type { EnclaveSessionValue } from '@enclave-vm/react';
import type { ReactElement } from 'react';
import { formatJson } from './format-json.js';
import { StatusBadge } from './status-badge.js';

/** The parts of the session the outcome panel shows. */
export type OutcomePanelProps = Pick<EnclaveSessionValue, 'state' | 'result' | 'error' | 'stats'>;

/** How the run ended: what it returned or why it failed, with its duration, tool calls and output size. */
export function OutcomePanel({ state, result, error, stats }: OutcomePanelProps): ReactElement {
  return (
    <section className="panel" aria-labelledby="outcome-heading">
      <h2 id="outcome-heading">Result</h2>
      {state === 'idle' ? <p className="empty">Run the code to see what it returns.</p> : null}
      {state === 'running' ? <p className="empty">Running…</p> : null}
      {state === 'completed' ? (
        <pre className="result" data-testid="result">
          {formatJson(result)}
        </pre>
      ) : null}
      {(state === 'error' || state === 'cancelled') && error !== undefined ? (
        <div className="failure" data-testid="error">
          <StatusBadge status="error" label={error.code} />
          <p>{error.message}</p>
        </div>
      ) : null}
      {stats === undefined ? null : (
        <dl className="stats" data-testid="stats">
          <div>
            <dt>Duration</dt>
            <dd>{formatMilliseconds(stats.durationMs)}</dd>
          </div>
          <div>
            <dt>CPU</dt>
            <dd>{formatMilliseconds(stats.cpuTimeMs)}</dd>
          </div>
          <div>
            <dt>Tool calls</dt>
            <dd>{stats.toolCalls}</dd>
          </div>
          <div>
            <dt>Stdout</dt>
            <dd>{`${stats.stdoutBytes} bytes`}</dd>
          </div>
        </dl>
      )}
    </section>
  );
}

function formatMilliseconds(milliseconds: number): string {
  return milliseconds < 1000 ? `${milliseconds.toFixed(1)} ms` : `${(milliseconds / 1000).toFixed(2)} s`;
}
