import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'playground',
    // The page runs in a real Chromium driven from Node; the tests themselves need no DOM.
    environment: 'node',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The screenshot attached to the report is copied here: inside the git-ignored test-output/.
    attachmentsDir: '../../test-output/vitest-attachments',
  },
});
