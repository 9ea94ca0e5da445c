import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { currentModuleUrl } from '../sandbox/module-location.js';

/** How to start a pool worker thread: a script file, or (from TypeScript sources) a bootstrap to evaluate. */
export type PoolWorkerScript = { kind: 'file'; url: URL } | { kind: 'eval'; code: string };

/**
 * Locates the pool's worker entry next to the running bundle: `pool-worker.js` beside `index.js`
 * (ESM) or `pool-worker.cjs` beside `index.cjs` (CJS), as tsup builds them. When the package runs
 * from its TypeScript sources (vitest, tsx), the worker runs `src/pool/pool-worker.ts` through tsx's
 * loader, which the workspace has as a development dependency.
 */
export function resolvePoolWorkerScript(): PoolWorkerScript {
  const here = currentModuleUrl();
  if (here.endsWith('.ts')) {
    const entry = new URL('../pool/pool-worker.ts', here).href;
    const tsxPackage = createRequire(here).resolve('tsx/package.json');
    const register = pathToFileURL(join(dirname(tsxPackage), 'dist/esm/api/index.mjs')).href;
    return {
      kind: 'eval',
      code: `import(${JSON.stringify(register)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`,
    };
  }
  return {
    kind: 'file',
    url: new URL(here.endsWith('.cjs') ? './pool-worker.cjs' : './pool-worker.js', here),
  };
}
