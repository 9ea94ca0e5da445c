import { createRuntimeWorker } from '@enclave-vm/runtime';
import { waitUntil } from '@enclave-vm/test-utils';
import { HealthResponseSchema } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import { createBroker } from '../src/create-broker.js';
import type { EnclaveBroker } from '../src/enclave-broker.js';
import { collect, eventOf, testBroker } from './broker-helpers.js';

/** Waits for the client tool `ask`, keeping state in the sandbox that must survive the wait. */
const ASKING = `const kept = { list: [1, 2, 3], text: 'kept' };
const answer = await tools.ask({});
return answer + ':' + kept.text + ':' + kept.list.length;`;

/** The `tool_call` of the session's client tool, once it has been made. */
async function pendingCallId(broker: EnclaveBroker, sessionId: string): Promise<string> {
  for await (const event of broker.streamEvents(sessionId)) {
    if (event.type === 'tool_call') return event.payload.callId;
  }
  throw new Error('the session ended without a tool call');
}

async function finalOf(broker: EnclaveBroker, sessionId: string) {
  return eventOf(await collect(broker.streamEvents(sessionId)), 'final').payload;
}

describe('parked sessions in the broker', () => {
  it('counts a session waiting on a client tool as parked in /health, and resumes it with its state', async () => {
    const broker = testBroker({ parkAfterMs: 50 });
    await broker.listen(0);
    const session = await broker.startSession({ code: ASKING });
    const callId = await pendingCallId(broker, session.id);
    await waitUntil(() => broker.health().sessions.parked === 1, 'the waiting session to be parked');
    const response = await fetch(`http://127.0.0.1:${broker.address().port}/health`);
    const health = HealthResponseSchema.parse(await response.json());
    expect(health.sessions).toEqual({ active: 1, total: 1, parked: 1 });

    await broker.submitToolResult(session.id, callId, 'yes');
    expect(await finalOf(broker, session.id)).toMatchObject({ ok: true, result: 'yes:kept:3' });
    await waitUntil(() => broker.health().sessions.parked === 0, 'the count to drop back to 0');
  });

  it('never parks with parkAfterMs: Infinity', async () => {
    const broker = testBroker({ parkAfterMs: Number.POSITIVE_INFINITY });
    const session = await broker.startSession({ code: ASKING });
    const callId = await pendingCallId(broker, session.id);
    // Past the default of one second.
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    expect(broker.health().sessions).toMatchObject({ active: 1, parked: 0 });
    await broker.submitToolResult(session.id, callId, 'awake');
    expect(await finalOf(broker, session.id)).toMatchObject({ ok: true, result: 'awake:kept:3' });
  });

  it('counts the sessions its runtime worker reports parked (extracted mode)', {
    timeout: 30_000,
  }, async () => {
    const worker = createRuntimeWorker({ port: 0, poolSize: 1, parkAfterMs: 50 });
    const { url } = await worker.start();
    const broker = createBroker({ mode: 'extracted', runtimeUrl: url });
    try {
      const session = await broker.startSession({ code: ASKING });
      const callId = await pendingCallId(broker, session.id);
      await waitUntil(() => broker.health().sessions.parked === 1, 'the worker to report the parked session');
      await broker.submitToolResult(session.id, callId, 'remote');
      expect(await finalOf(broker, session.id)).toMatchObject({ ok: true, result: 'remote:kept:3' });
      await waitUntil(() => broker.health().sessions.parked === 0, 'the worker to report none parked');
    } finally {
      await broker.close();
      await worker.stop();
    }
  });
});
