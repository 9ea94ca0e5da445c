/** How long {@link waitUntil} waits by default before it gives up. */
export const DEFAULT_WAIT_MS = 10_000;

/**
 * Resolves once `condition()` holds, checking every 10 ms; rejects with an error naming `what`
 * after `timeoutMs`, so that a test waiting for something that never happens fails by itself.
 */
export async function waitUntil(
  condition: () => boolean,
  what: string,
  timeoutMs: number = DEFAULT_WAIT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Waited ${timeoutMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
