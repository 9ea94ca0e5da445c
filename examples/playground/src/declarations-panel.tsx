import type { DeclarationsResponse } from '@enclave-vm/client';
import { useEnclaveClient } from '@enclave-vm/react';
import { type ReactElement, useCallback, useEffect, useState } from 'react';

/** Props of {@link DeclarationsPanel}. */
export interface DeclarationsPanelProps {
  /** Changes whenever the tools may have changed (a `catalog_changed` event arrived): the text reloads. */
  catalogVersion: string | undefined;
}

type Loaded =
  | { state: 'loading' }
  | { state: 'loaded'; response: DeclarationsResponse }
  | { state: 'failed'; message: string };

/**
 * The broker's TypeScript declarations of its tools (`GET /code/declarations`, via
 * `client.getDeclarations()`): what a model sees of `tools` and `callTool` to write code that
 * type-checks. Copy puts the text on the clipboard.
 */
export function DeclarationsPanel({ catalogVersion }: DeclarationsPanelProps): ReactElement {
  const client = useEnclaveClient();
  const [loaded, setLoaded] = useState<Loaded>({ state: 'loading' });
  const [copied, setCopied] = useState(false);

  const load = useCallback(
    (signal?: AbortSignal) => {
      client.getDeclarations({ signal }).then(
        (response) => setLoaded({ state: 'loaded', response }),
        (error: unknown) => {
          if (signal?.aborted === true) return;
          setLoaded({ state: 'failed', message: error instanceof Error ? error.message : String(error) });
        },
      );
    },
    [client],
  );

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new catalog version must reload the text.
  useEffect(() => {
    const controller = new AbortController();
    load(controller.signal);
    return () => controller.abort();
  }, [load, catalogVersion]);

  const copy = (text: string): void => {
    navigator.clipboard.writeText(text).then(
      () => setCopied(true),
      () => setCopied(false),
    );
  };

  return (
    <section
      className="panel declarations-panel"
      aria-labelledby="declarations-heading"
      data-testid="declarations"
    >
      <h2 id="declarations-heading">
        Type declarations
        <span className="spacer" />
        {loaded.state === 'loaded' ? (
          <button type="button" className="small" onClick={() => copy(loaded.response.declarations)}>
            {copied ? 'Copied' : 'Copy'}
          </button>
        ) : null}
        <button type="button" className="small" onClick={() => load()}>
          Refresh
        </button>
      </h2>
      <p className="declarations-help">
        What code sees of the broker's tools, as TypeScript: put it in a prompt so a model writes calls that
        type-check.
      </p>
      {loaded.state === 'loading' ? <p className="empty">Loading the declarations…</p> : null}
      {loaded.state === 'failed' ? (
        <p className="error-text">The declarations could not be loaded: {loaded.message}</p>
      ) : null}
      {loaded.state === 'loaded' ? (
        <pre
          className="declarations-text"
          data-testid="declarations-text"
          data-version={loaded.response.version}
        >
          {loaded.response.declarations}
        </pre>
      ) : null}
    </section>
  );
}
