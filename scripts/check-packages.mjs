#!/usr/bin/env node
// Checks every published package as npm would ship it: publint (package.json, exports, files)
// and @arethetypeswrong/cli (types resolve for ESM, CJS, node10 and bundlers). Run after `pnpm build`.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const packagesDir = join(root, 'packages');
const bin = (name) => join(root, 'node_modules', '.bin', name);
let failed = 0;

for (const name of readdirSync(packagesDir).sort()) {
  const dir = join(packagesDir, name);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  if (manifest.private) continue;
  for (const [tool, args] of [
    ['publint', ['--strict']],
    ['attw', ['--pack', '.', '--format', 'table-flipped']],
  ]) {
    try {
      execFileSync(bin(tool), args, { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
      console.log(`ok   ${manifest.name} ${tool}`);
    } catch (error) {
      failed++;
      console.error(`FAIL ${manifest.name} ${tool}\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    }
  }
}

if (failed > 0) {
  console.error(`${failed} package check(s) failed`);
  process.exit(1);
}
console.log('every package passes publint and arethetypeswrong');
