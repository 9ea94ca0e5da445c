import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolvePoolWorkerScript } from '../../src/pool/worker-script.js';

describe('resolvePoolWorkerScript', () => {
  it('from TypeScript sources, starts src/pool/pool-worker.ts through the tsx loader', () => {
    const script = resolvePoolWorkerScript();
    expect(script.kind).toBe('eval');
    if (script.kind !== 'eval') return;
    const entry = /import\("(file:[^"]+pool-worker\.ts)"\)/.exec(script.code)?.[1];
    expect(entry).toBeDefined();
    expect(existsSync(fileURLToPath(entry as string))).toBe(true);
    const loader = /import\("(file:[^"]+)"\)\.then\(\(tsx\)/.exec(script.code)?.[1];
    expect(existsSync(fileURLToPath(loader as string))).toBe(true);
  });
});
