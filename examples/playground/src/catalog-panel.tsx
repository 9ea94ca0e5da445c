import type { CatalogResponse } from '@enclave-vm/client';
import { useEnclaveClient } from '@enclave-vm/react';
import { type ReactElement, useCallback, useEffect, useState } from 'react';
import { actionCall } from './action-call.js';
import { formatJson } from './format-json.js';

/** Props of {@link CatalogPanel}. */
export interface CatalogPanelProps {
  /** Inserts a line of code at the editor's caret. */
  onInsert(code: string): void;
  /** Changes whenever the catalog may have changed (a `catalog_changed` event arrived): the list reloads. */
  catalogVersion: string | undefined;
}

type Loaded =
  | { state: 'loading' }
  | { state: 'loaded'; catalog: CatalogResponse }
  | { state: 'failed'; message: string };

/**
 * The broker's action catalog (`GET /code/actions`, via `client.listActions()`): every action of its
 * OpenAPI sources with its description and argument schema, and each service with its status. A
 * click on an action inserts a call to it into the editor.
 */
export function CatalogPanel({ onInsert, catalogVersion }: CatalogPanelProps): ReactElement {
  const client = useEnclaveClient();
  const [loaded, setLoaded] = useState<Loaded>({ state: 'loading' });

  const load = useCallback(
    (signal?: AbortSignal) => {
      client.listActions({ signal }).then(
        (catalog) => setLoaded({ state: 'loaded', catalog }),
        (error: unknown) => {
          if (signal?.aborted === true) return;
          setLoaded({ state: 'failed', message: error instanceof Error ? error.message : String(error) });
        },
      );
    },
    [client],
  );

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new catalog version must reload the list.
  useEffect(() => {
    const controller = new AbortController();
    load(controller.signal);
    return () => controller.abort();
  }, [load, catalogVersion]);

  const actions = loaded.state === 'loaded' ? loaded.catalog.actions : [];
  return (
    <section className="panel catalog-panel" aria-labelledby="catalog-heading" data-testid="catalog">
      <h2 id="catalog-heading">
        Catalog <span className="count">{actions.length}</span>
        <span className="spacer" />
        <button type="button" className="small" onClick={() => load()}>
          Refresh
        </button>
      </h2>
      {loaded.state === 'loading' ? <p className="empty">Loading the actions…</p> : null}
      {loaded.state === 'failed' ? (
        <p className="error-text">The catalog could not be loaded: {loaded.message}</p>
      ) : null}
      {loaded.state === 'loaded' ? (
        <>
          <ul className="catalog-services">
            {loaded.catalog.services.map((service) => (
              <li key={service.name} data-testid="catalog-service" data-status={service.status ?? 'ok'}>
                <code>{service.name}</code> · {service.actionCount} actions · {service.status ?? 'ok'}
                {service.error === undefined ? null : (
                  <span className="error-text"> — {service.error.message}</span>
                )}
              </li>
            ))}
          </ul>
          {actions.length === 0 ? (
            <p className="empty">No actions: the broker has no OpenAPI sources, or none has loaded yet.</p>
          ) : (
            <ul className="catalog-actions">
              {actions.map((action) => (
                <li key={action.name} className="catalog-action" data-testid="catalog-action">
                  <button
                    type="button"
                    className="catalog-insert"
                    title="Insert a call into the editor"
                    onClick={() => onInsert(actionCall(action))}
                  >
                    <code className="tool-name">{action.name}</code>
                    {action.deprecated === true ? <span className="badge">deprecated</span> : null}
                  </button>
                  {action.description === undefined ? null : (
                    <p className="catalog-description">{action.description}</p>
                  )}
                  <details>
                    <summary>Arguments</summary>
                    <pre className="catalog-schema">{formatJson(action.inputSchema ?? {})}</pre>
                  </details>
                </li>
              ))}
            </ul>
          )}
        </>
      ) : null}
    </section>
  );
}
