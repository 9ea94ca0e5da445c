import { readFileSync } from 'node:fs';
import { currentModuleUrl } from './module-location.js';

/**
 * The guest JavaScript files of `src/sandbox/guest/` (copied to `dist/guest/` by the build): plain
 * scripts that Biome lints and the engine evaluates, each to one value.
 */
export type GuestScript = 'formatter' | 'bridge' | 'guards' | 'lockdown';

const sources = new Map<GuestScript, string>();

/**
 * The text of a guest script, read once per thread. From the sources (tests) it is read beside this
 * file; from the build, beside the bundle (`dist/guest/`).
 */
export function readGuestSource(script: GuestScript): string {
  let source = sources.get(script);
  if (source === undefined) {
    source = readFileSync(new URL(`./guest/${script}.js`, currentModuleUrl()), 'utf8');
    sources.set(script, source);
  }
  return source;
}
