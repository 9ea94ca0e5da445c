import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: ['packages/*', 'tests', 'examples/playground'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // CI also writes a JSON report, which scripts/test-summary.mjs turns into one closing line.
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: 'test-output/vitest.json' },
  },
});
