import type { StreamEvent } from '@enclave-vm/types';
import type { ReactElement } from 'react';

/** One line group of the output: a `console.log` chunk, or a `console.info/warn/…` message. */
interface OutputEntry {
  seq: number;
  kind: 'stdout' | 'debug' | 'info' | 'warn' | 'error';
  text: string;
}

/**
 * What the code printed, as it streams: `console.log` output, with `console.debug/info/warn/error`
 * messages interleaved in the order they happened and marked with their level.
 */
export function OutputPanel({
  events,
  running,
}: {
  events: readonly StreamEvent[];
  running: boolean;
}): ReactElement {
  const entries: OutputEntry[] = [];
  for (const event of events) {
    if (event.type === 'stdout') entries.push({ seq: event.seq, kind: 'stdout', text: event.payload.chunk });
    else if (event.type === 'log') {
      entries.push({ seq: event.seq, kind: event.payload.level, text: `${event.payload.message}\n` });
    }
  }
  return (
    <section className="panel" aria-labelledby="output-heading">
      <h2 id="output-heading">Output</h2>
      {entries.length === 0 ? (
        <p className="empty">{running ? 'Waiting for output…' : 'Nothing printed yet.'}</p>
      ) : (
        <pre className="output" data-testid="output" role="log">
          {entries.map((entry) => (
            <span key={entry.seq} className={`output-${entry.kind}`}>
              {entry.kind === 'stdout' ? null : <span className="output-level">{entry.kind}</span>}
              {entry.text}
            </span>
          ))}
        </pre>
      )}
    </section>
  );
}
