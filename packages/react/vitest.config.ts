import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'react',
    // The hooks render into a DOM; the broker they talk to runs in the same Node process.
    environment: 'jsdom',
    setupFiles: ['test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
  },
});
