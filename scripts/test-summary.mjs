#!/usr/bin/env node
// Prints vitest's JSON report as one closing line, `N passed, N failed`, and fails when the run
// executed no test at all. Used by .ci/run after `pnpm test`.
import { readFileSync } from 'node:fs';

const path = process.argv[2] ?? 'test-output/vitest.json';
const report = JSON.parse(readFileSync(path, 'utf8'));
const passed = report.numPassedTests ?? 0;
// Tests that never ran (their file failed to load, or its worker died) count as failed, and a run
// vitest marks unsuccessful counts at least one failure.
const notRun =
  (report.numTotalTests ?? 0) -
  passed -
  (report.numPendingTests ?? 0) -
  (report.numTodoTests ?? 0) -
  (report.numFailedTests ?? 0);
const failed = Math.max((report.numFailedTests ?? 0) + Math.max(0, notRun), report.success === false ? 1 : 0);
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`tests: ${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
if (passed === 0 || failed > 0) process.exit(1);
