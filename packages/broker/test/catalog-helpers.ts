// Helpers shared by the catalog tests (not a test file itself).
import type { StreamEvent } from '@enclave-vm/types';
import type { EnclaveBroker } from '../src/enclave-broker.js';
import type { Logger } from '../src/options/broker-options.js';
import { collect, eventOf } from './broker-helpers.js';

/** What code got back from one tool call: the value, or the error's code, status and message. */
export type CallOutcome =
  | { ok: true; value: unknown }
  | { ok: false; code: string; status?: number; message: string; details?: unknown };

/**
 * Runs `expression` (a tool call, e.g. `tools.x({})`) inside the sandbox and returns what the code
 * saw, with every event of the session.
 */
export async function callFromCode(
  broker: EnclaveBroker,
  expression: string,
): Promise<{ outcome: CallOutcome; events: StreamEvent[] }> {
  const events = await collect(
    broker.execute(`
      try {
        return { ok: true, value: await ${expression} };
      } catch (error) {
        return { ok: false, code: error.code, status: error.details?.status, message: error.message, details: error.details };
      }
    `),
  );
  const final = eventOf(events, 'final');
  if (!final.payload.ok) throw new Error(`the session failed: ${JSON.stringify(final.payload.error)}`);
  return { outcome: final.payload.result as CallOutcome, events };
}

/** A logger that keeps every line, to check what reached the logs. */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const record =
    (level: string) =>
    (message: string, data?: Record<string, unknown>): void => {
      lines.push(`${level} ${message} ${JSON.stringify(data ?? {})}`);
    };
  return {
    lines,
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  };
}

/** Waits until `predicate` holds, checking every 10 ms; fails after 10 s with `what`. */
export async function waitUntil(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
