import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'stream',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    include: ['test/**/*.test.ts'],
  },
});
