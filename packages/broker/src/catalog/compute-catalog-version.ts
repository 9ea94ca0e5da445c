import { createHash } from 'node:crypto';
import type { CatalogAction } from '@enclave-vm/types';
import { stableStringify } from './stable-stringify.js';

/**
 * The catalog `version`: SHA-256 (hex) of the services' spec hashes (see {@link computeSpecHash}),
 * sorted so that the order in which sources were configured does not matter. Equal catalogs give
 * equal versions on every broker; adding or removing an action changes a spec hash and so the
 * version.
 */
export function computeCatalogVersion(specHashes: readonly string[]): string {
  return createHash('sha256')
    .update([...specHashes].sort().join('\n'))
    .digest('hex');
}

/**
 * The hash of one service's part of the catalog: SHA-256 of its name and of its actions as the
 * catalog lists them (name, description, input schema, tags, deprecation), in canonical JSON. It
 * changes when an action is added, removed, or described differently; a change to the document that
 * does not show in the catalog (a response schema, a server URL, formatting) leaves it unchanged.
 */
export function computeSpecHash(service: string, actions: readonly CatalogAction[]): string {
  const sorted = [...actions].sort((left, right) =>
    left.name < right.name ? -1 : left.name > right.name ? 1 : 0,
  );
  return createHash('sha256')
    .update(stableStringify({ service, actions: sorted }))
    .digest('hex');
}

/** The hash of one action as the catalog lists it: tells an updated action from an unchanged one. */
export function computeActionHash(action: CatalogAction): string {
  return createHash('sha256').update(stableStringify(action)).digest('hex');
}
