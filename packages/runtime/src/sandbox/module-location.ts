import { pathToFileURL } from 'node:url';

/**
 * The URL of the file this code runs from: the built bundle (`dist/index.js`, `dist/index.cjs`,
 * `dist/pool-worker.js`, ...) or, under a TypeScript loader such as vitest, this source file.
 * The ESM build reads `import.meta.url`; the CJS build has no `import.meta` and uses `__filename`.
 */
export function currentModuleUrl(): string {
  if (typeof __filename === 'string') return pathToFileURL(__filename).href;
  return import.meta.url;
}

/** Whether the code runs from TypeScript sources (tests) rather than from the built `dist`. */
export function isRunningFromSource(): boolean {
  return currentModuleUrl().endsWith('.ts');
}
