import { pathToFileURL } from 'node:url';

/**
 * The URL of the file this code runs from: the built bundle (`dist/index.js`, `dist/index.cjs`,
 * `dist/pool-worker.js`, ...) or, under a TypeScript loader such as vitest, this source file.
 */
export function currentModuleUrl(): string {
  // ESM (and TypeScript sources run as ESM) has `import.meta.url`; the CJS build has an empty
  // `import.meta` and a `__filename`. `__filename` is not checked first: code evaluated in a worker
  // (`new Worker(code, { eval: true })`) may see a placeholder name there.
  const url: unknown = import.meta.url;
  if (typeof url === 'string') return url;
  return pathToFileURL(__filename).href;
}

/** Whether the code runs from TypeScript sources (tests) rather than from the built `dist`. */
export function isRunningFromSource(): boolean {
  return currentModuleUrl().endsWith('.ts');
}
