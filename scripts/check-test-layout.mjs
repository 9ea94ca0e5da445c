#!/usr/bin/env node
// Tests live in each package's test/ folder (CONTRIBUTING.md): vitest only looks there, so a test
// file left under src/ would never run. Fails listing any.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const misplaced = [];
for (const name of readdirSync(join(root, 'packages'))) {
  const src = join(root, 'packages', name, 'src');
  let entries = [];
  try {
    entries = readdirSync(src, { recursive: true });
  } catch {
    continue;
  }
  for (const entry of entries) {
    if (/\.test\.tsx?$/.test(String(entry))) misplaced.push(`packages/${name}/src/${entry}`);
  }
}
if (misplaced.length > 0) {
  console.error(
    `Test files under src/ (move them to the package's test/ folder):\n  ${misplaced.join('\n  ')}`,
  );
  process.exit(1);
}
console.log('every test file is under a test/ folder');
