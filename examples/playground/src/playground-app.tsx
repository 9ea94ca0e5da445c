import { EnclaveProvider, useEnclaveSession } from '@enclave-vm/react';
import { type ReactElement, useRef, useState } from 'react';
import { browserInfo } from './browser-info.js';
import { CatalogPanel } from './catalog-panel.js';
import { CodeEditor } from './code-editor.js';
import { DeclarationsPanel } from './declarations-panel.js';
import { OutcomePanel } from './outcome-panel.js';
import { OutputPanel } from './output-panel.js';
import { SnippetPicker } from './snippet-picker.js';
import { SNIPPETS, type Snippet } from './snippets.js';
import { StatusBadge } from './status-badge.js';
import { ToolCallList } from './tool-call-list.js';
import { type ConfirmRequests, useConfirmRequests } from './use-confirm-requests.js';

/** The whole page, talking to the broker at `brokerUrl` (the page's own origin when served by server.mjs). */
export function PlaygroundApp({ brokerUrl }: { brokerUrl: string }): ReactElement {
  const confirmations = useConfirmRequests();
  return (
    <EnclaveProvider brokerUrl={brokerUrl} tools={{ confirm: confirmations.confirm, browserInfo }}>
      <Playground brokerUrl={brokerUrl} confirmations={confirmations} />
    </EnclaveProvider>
  );
}

const FIRST_SNIPPET = SNIPPETS[0] as Snippet;

function Playground({
  brokerUrl,
  confirmations,
}: {
  brokerUrl: string;
  confirmations: ConfirmRequests;
}): ReactElement {
  const session = useEnclaveSession();
  const [code, setCode] = useState(FIRST_SNIPPET.code);
  const [snippetId, setSnippetId] = useState<string | undefined>(FIRST_SNIPPET.id);
  const [timeLimitSeconds, setTimeLimitSeconds] = useState(FIRST_SNIPPET.timeLimitSeconds);
  const running = session.state === 'running';
  const editor = useRef<HTMLTextAreaElement>(null);
  const catalogVersion = session.events.findLast((event) => event.type === 'catalog_changed');

  // A click in the catalog puts the call on a line of its own at the caret.
  const insert = (line: string): void => {
    const textarea = editor.current;
    const at = textarea === null ? code.length : textarea.selectionStart;
    const before = code.slice(0, at);
    const text = `${before === '' || before.endsWith('\n') ? '' : '\n'}${line}\n`;
    const next = before + text + code.slice(at);
    setCode(next);
    setSnippetId(undefined);
    requestAnimationFrame(() => {
      textarea?.focus();
      textarea?.setSelectionRange(at + text.length, at + text.length);
    });
  };

  const run = (): void => {
    void session.execute(code, { timeout: Math.max(1, timeLimitSeconds) * 1000 });
  };
  const pick = (snippet: Snippet): void => {
    setCode(snippet.code);
    setSnippetId(snippet.id);
    setTimeLimitSeconds(snippet.timeLimitSeconds);
  };

  return (
    <div className="page">
      <header className="header">
        <div>
          <h1>EnclaveJS playground</h1>
          <p className="subtitle">JavaScript in a QuickJS sandbox, streamed as it runs.</p>
        </div>
        <div className="header-status">
          <StatusBadge status={session.state} />
          <span className="session-id" title="Session id">
            {session.sessionId ?? 'no session yet'}
          </span>
          <span className="broker-url" title="Broker">
            {brokerUrl}
          </span>
        </div>
      </header>

      <main className="layout">
        <section className="panel editor-panel" aria-labelledby="code-heading">
          <h2 id="code-heading">Code</h2>
          <SnippetPicker snippets={SNIPPETS} selectedId={snippetId} onPick={pick} />
          <CodeEditor
            textareaRef={editor}
            value={code}
            onChange={(value) => {
              setCode(value);
              setSnippetId(undefined);
            }}
            onRun={run}
          />
          <div className="toolbar">
            <button type="button" className="primary" onClick={run}>
              {running ? 'Restart' : 'Run'}
            </button>
            <button type="button" onClick={() => void session.cancel()} disabled={!running}>
              Cancel
            </button>
            <button type="button" onClick={session.reset} disabled={running || session.state === 'idle'}>
              Clear
            </button>
            <label className="time-limit">
              Time limit
              <input
                type="number"
                min={1}
                max={60}
                value={timeLimitSeconds}
                onChange={(event) => setTimeLimitSeconds(Number(event.target.value))}
              />
              s
            </label>
            <span className="hint">Ctrl+Enter runs · Tab indents</span>
          </div>
          <p className="tools-help">
            Broker tools: <code>getCurrentTime</code>, <code>users:list</code>, <code>users:delete</code>{' '}
            (waits for your approval), and the catalog's actions below. Page tools: <code>confirm</code>,{' '}
            <code>browserInfo</code>.
          </p>
          <CatalogPanel
            onInsert={insert}
            catalogVersion={
              catalogVersion?.type === 'catalog_changed' ? catalogVersion.payload.version : undefined
            }
          />
          <DeclarationsPanel
            catalogVersion={
              catalogVersion?.type === 'catalog_changed' ? catalogVersion.payload.version : undefined
            }
          />
        </section>

        <div className="results">
          <OutputPanel events={session.events} running={running} />
          <ToolCallList
            toolCalls={session.toolCalls}
            confirmRequests={confirmations.requests}
            onApprove={session.approve}
            onDeny={session.deny}
          />
          <OutcomePanel
            state={session.state}
            result={session.result}
            error={session.error}
            stats={session.stats}
          />
        </div>
      </main>
    </div>
  );
}
