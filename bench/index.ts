/**
 * Runs every `bench/*.bench.ts` (or those whose name contains an argument: `pnpm bench ndjson`).
 * Each prints its figures beside baselines measured in the same run.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Benchmark, printFigures } from './lib/report.js';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(here)
  .filter((file) => file.endsWith('.bench.ts'))
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort();

if (files.length === 0) {
  console.error(`No benchmark matches ${filters.join(', ')}`);
  process.exit(1);
}

console.log(`EnclaveJS benchmarks — Node ${process.version}, ${new Date().toISOString()}`);
for (const file of files) {
  const module = (await import(pathToFileURL(join(here, file)).href)) as { default: Benchmark };
  const benchmark = module.default;
  const figures = await benchmark.run();
  printFigures(`${benchmark.title} (${file})`, figures);
}
