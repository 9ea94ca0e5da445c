#!/usr/bin/env node
// The public API of every published package, as API Extractor reports committed under
// packages/<name>/api/ (one per entry point: index.api.md, testing.api.md). Run after `pnpm build`.
//   node scripts/api-report.mjs           checks: fails when an API differs from its report
//   node scripts/api-report.mjs --update  rewrites the reports (commit them with the change)
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';

const root = new URL('..', import.meta.url).pathname;
const update = process.argv.includes('--update');
const packagesDir = join(root, 'packages');
let failed = 0;

for (const name of readdirSync(packagesDir).sort()) {
  const dir = join(packagesDir, name);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  if (manifest.private) continue;
  // Every entry of `exports` but package.json: "." is index, "./testing" is testing.
  const entries = Object.keys(manifest.exports)
    .filter((key) => key !== './package.json')
    .map((key) => (key === '.' ? 'index' : key.slice(2)));
  for (const entry of entries) {
    const reportFolder = join(dir, 'api');
    const tempFolder = join(dir, 'node_modules', '.api-report');
    mkdirSync(reportFolder, { recursive: true });
    mkdirSync(tempFolder, { recursive: true });
    const config = ExtractorConfig.prepare({
      configObject: {
        projectFolder: dir,
        mainEntryPointFilePath: join(dir, 'dist', `${entry}.d.ts`),
        compiler: { tsconfigFilePath: join(dir, 'tsconfig.json') },
        apiReport: {
          enabled: true,
          reportFolder,
          reportTempFolder: tempFolder,
          reportFileName: `${entry}.api.md`,
        },
        docModel: { enabled: false },
        dtsRollup: { enabled: false },
        tsdocMetadata: { enabled: false },
        messages: {
          compilerMessageReporting: { default: { logLevel: 'warning' } },
          extractorMessageReporting: {
            default: { logLevel: 'warning' },
            // Release tags (@public, @beta) are not used: what an entry exports is public, and
            // what is not meant for users is marked @internal.
            'ae-missing-release-tag': { logLevel: 'none' },
            // @internal names keep their names (no leading underscore): renaming them for the tag
            // would change code across packages for no reader's benefit.
            'ae-internal-missing-underscore': { logLevel: 'none' },
            // Types reachable from an export but not exported themselves are listed in the report.
            'ae-forgotten-export': { logLevel: 'none' },
            // The JSDoc's {@link} names members and other packages' exports, which TSDoc cannot
            // resolve; and documentation is checked in review, not by the report.
            'ae-unresolved-link': { logLevel: 'none' },
            'ae-undocumented': { logLevel: 'none' },
          },
          tsdocMessageReporting: { default: { logLevel: 'none' } },
        },
      },
      packageJsonFullPath: join(dir, 'package.json'),
    });
    const result = Extractor.invoke(config, { localBuild: update, messageCallback: quiet });
    const label = `${manifest.name}${entry === 'index' ? '' : `/${entry}`}`;
    if (result.succeeded) {
      console.log(`ok   ${label}${result.apiReportChanged && update ? ' (report updated)' : ''}`);
    } else {
      failed++;
      console.error(
        result.apiReportChanged
          ? `FAIL ${label}: its public API differs from packages/${name}/api/${entry}.api.md; review the change, then run \`pnpm api:update\` and commit the report`
          : `FAIL ${label}: ${result.errorCount} error(s), ${result.warningCount} warning(s)`,
      );
    }
  }
}

if (failed > 0) process.exit(1);

/** Keeps API Extractor's chatter out of CI logs; its warnings and errors still print. */
function quiet(message) {
  if (message.logLevel === 'info' || message.logLevel === 'verbose') message.handled = true;
}
