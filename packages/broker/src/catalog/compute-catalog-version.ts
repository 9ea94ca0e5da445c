import { createHash } from 'node:crypto';

/**
 * The catalog `version`: SHA-256 (hex) of the sources' spec hashes, sorted so the order in which
 * sources were configured does not matter. Equal source sets give equal versions; adding or removing
 * an action changes a spec hash and so the version.
 */
export function computeCatalogVersion(specHashes: readonly string[]): string {
  return createHash('sha256')
    .update([...specHashes].sort().join('\n'))
    .digest('hex');
}
