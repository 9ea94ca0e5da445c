import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'client',
    include: ['test/**/*.test.ts'],
    // The tests run a real broker and sandbox on a shared 2-core machine: the root config's limits.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
