// Helpers shared by the catalog tests (not a test file itself).
import type { StreamEvent } from '@enclave-vm/types';
import type { EnclaveBroker } from '../src/enclave-broker.js';
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

export { recordingLogger, waitUntil } from '@enclave-vm/test-utils';

/**
 * A session whose code stops at each `await tools.pause(label)` (a client tool) until the test
 * resumes it, so that the test can change the world between two steps of one session.
 */
export class SteppedSession {
  readonly events: StreamEvent[] = [];
  private readonly iterator: AsyncIterator<StreamEvent>;
  private pending: { sessionId: string; callId: string } | undefined;

  constructor(
    private readonly broker: EnclaveBroker,
    code: string,
  ) {
    this.iterator = broker.execute(code)[Symbol.asyncIterator]();
  }

  /** Reads events until the code pauses; returns the pause's label. */
  async untilPause(): Promise<unknown> {
    for (;;) {
      const next = await this.iterator.next();
      if (next.done === true) throw new Error('the session ended before pausing');
      this.events.push(next.value);
      const event = next.value;
      if (event.type === 'tool_call' && event.payload.toolName === 'pause') {
        this.pending = { sessionId: event.sessionId, callId: event.payload.callId };
        return event.payload.args;
      }
    }
  }

  /** Lets the code go on from its pause. */
  async resume(): Promise<void> {
    const pending = this.pending;
    if (pending === undefined) throw new Error('the session is not paused');
    this.pending = undefined;
    await this.broker.submitToolResult(pending.sessionId, pending.callId, null);
  }

  /** Resumes the code and reads the rest of the session; returns what it returned. */
  async finish(): Promise<unknown> {
    if (this.pending !== undefined) await this.resume();
    for (;;) {
      const next = await this.iterator.next();
      if (next.done === true) break;
      this.events.push(next.value);
    }
    const final = this.events.find((event) => event.type === 'final');
    if (final?.type !== 'final') throw new Error('no final event');
    if (!final.payload.ok) throw new Error(`the session failed: ${JSON.stringify(final.payload.error)}`);
    return final.payload.result;
  }
}
