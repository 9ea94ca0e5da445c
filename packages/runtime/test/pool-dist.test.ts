import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// The published form: the pool, loaded from the built dist as ESM and as CommonJS, finds its worker
// entry beside the bundle and runs code. Needs `pnpm --filter @enclave-vm/runtime build` first (the
// root `pnpm test` builds before running vitest).

const run = promisify(execFile);
const dist = fileURLToPath(new URL('../dist/', import.meta.url));

const LIMITS =
  '{ timeout: 5000, maxCpuTime: 5000, maxToolCalls: 10, toolTimeout: 5000, memoryLimit: 33554432, maxStackSize: 262144, maxStdoutBytes: 10000, maxResultBytes: 10000, maxToolArgsBytes: 10000, maxToolResultBytes: 10000 }';

function script(importLine: string): string {
  return `${importLine}
(async () => {
  const pool = createSandboxPool({ size: 1, warmInstances: 1 });
  await pool.ready();
  const events = [];
  let handle;
  handle = pool.execute({ sessionId: 'dist_1', code: "console.log('from', { dist: true }); return await tools.add({ a: 2, b: 3 })", limits: ${LIMITS} }, (event) => {
    events.push(event.type);
    if (event.type === 'tool_call') handle.submitToolResult(event.payload.callId, { ok: true, result: event.payload.args.a + event.payload.args.b });
  });
  const final = await handle.done;
  await pool.close();
  process.stdout.write(JSON.stringify({ events, result: final.result }));
})();`;
}

describe.each([
  [
    'ESM',
    'index.js',
    '--input-type=module',
    (file: string) => `import { createSandboxPool } from ${JSON.stringify(file)};`,
  ],
  [
    'CommonJS',
    'index.cjs',
    '--input-type=commonjs',
    (file: string) => `const { createSandboxPool } = require(${JSON.stringify(file)});`,
  ],
])('the built package as %s', (_format, entry, inputType, importLine) => {
  it('runs a session on a pool thread started from the bundled worker entry', async () => {
    const file = `${dist}${entry}`;
    expect(existsSync(file), `${file} is missing: run pnpm --filter @enclave-vm/runtime build first`).toBe(
      true,
    );
    const { stdout } = await run(process.execPath, [inputType, '-e', script(importLine(file))], {
      timeout: 30_000,
    });
    expect(JSON.parse(stdout)).toEqual({ events: ['stdout', 'tool_call', 'final'], result: 5 });
  });
});
