// Starts the system's Chromium for the page tests (not a test file itself).
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Where Debian's `apt-get install chromium` puts it; `CHROMIUM_PATH` overrides. */
const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a quiet, headless, offline Chromium in a container. */
const CHROMIUM_ARGUMENTS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Launches Chromium with playwright-core. Throws, never skips, when it is not installed: a page test
 * that did not run must not pass.
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH ?? DEFAULT_CHROMIUM_PATH;
  if (!existsSync(executablePath)) {
    throw new Error(
      `Chromium was not found at ${executablePath}. Install it (apt-get install -y chromium) or set ` +
        'CHROMIUM_PATH to its executable; `npx playwright install` does not work offline.',
    );
  }
  return chromium.launch({ executablePath, args: CHROMIUM_ARGUMENTS });
}
