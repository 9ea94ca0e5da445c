import type { ClientToolHandler } from '@enclave-vm/react';

/** What the `browserInfo` client tool tells the code about the page it runs for. */
export interface BrowserInfo {
  language: string;
  timeZone: string;
  userAgent: string;
  viewport: { width: number; height: number };
}

/** The `browserInfo` client tool: answered by the page at once, without asking anybody. */
export const browserInfo: ClientToolHandler = (): BrowserInfo => ({
  language: navigator.language,
  timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
  userAgent: navigator.userAgent,
  viewport: { width: window.innerWidth, height: window.innerHeight },
});
