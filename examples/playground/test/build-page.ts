// Builds the playground page for the tests (not a test file itself).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

/** The playground package's directory. */
export const PLAYGROUND_DIRECTORY = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A build of the page in a directory of its own, removed by `remove`. */
export interface BuiltPage {
  directory: string;
  remove(): Promise<void>;
}

/**
 * Builds the page from its current sources (as `pnpm build` does, in about a second) into a
 * temporary directory, so that the test never serves a stale `dist/` and never races a build of it.
 */
export async function buildPage(): Promise<BuiltPage> {
  const directory = await mkdtemp(join(tmpdir(), 'enclave-playground-'));
  await build({
    root: PLAYGROUND_DIRECTORY,
    configFile: join(PLAYGROUND_DIRECTORY, 'vite.config.ts'),
    logLevel: 'warn',
    // Under vitest NODE_ENV is `test`, so this bundles React's development build: its warnings
    // reach the console, where the page test looks for errors. It is larger, hence the limit.
    build: { outDir: directory, emptyOutDir: true, chunkSizeWarningLimit: 4096 },
  });
  return { directory, remove: () => rm(directory, { recursive: true, force: true }) };
}
