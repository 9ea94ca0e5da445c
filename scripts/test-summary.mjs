#!/usr/bin/env node
// Prints vitest's JSON report as one closing line, `N passed, N failed`, and fails when the run
// executed no test at all. Used by .ci/run after `pnpm test`.
import { readFileSync } from 'node:fs';

const path = process.argv[2] ?? 'test-output/vitest.json';
const report = JSON.parse(readFileSync(path, 'utf8'));
const passed = report.numPassedTests ?? 0;
// A file that fails to load has no failed test but still fails the run: count it as one.
const failed = Math.max(report.numFailedTests ?? 0, report.success === false ? 1 : 0);
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`tests: ${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
if (passed === 0 || failed > 0) process.exit(1);
