import type { StreamEvent } from '@enclave-vm/types';
import { afterEach, describe, expect, it } from 'vitest';
import { InMemorySessionStore } from '../src/index.js';
import { collect, eventOf, readUntil, rejectionOf, testBroker, typesOf } from './broker-helpers.js';

const stores: InMemorySessionStore[] = [];
afterEach(async () => {
  // The brokers close first (broker-helpers); a store passed as `store` is the caller's to close.
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

function sharedStore(): InMemorySessionStore {
  const store = new InMemorySessionStore();
  stores.push(store);
  return store;
}

const isToolCall = (event: StreamEvent) => event.type === 'tool_call';

describe('brokers sharing one in-memory store', () => {
  it('serve, answer and cancel each other’s sessions, and count one session cap', async () => {
    const store = sharedStore();
    const first = testBroker({ store, maxConcurrentSessions: 2 });
    const second = testBroker({ store, maxConcurrentSessions: 2 });
    const session = await first.startSession({ code: 'return await tools.ask({})' });
    expect(session.owner).toBe(first.id);
    const followed = second.streamEvents(session.id)[Symbol.asyncIterator]();
    const call = (await readUntil(followed, isToolCall)).at(-1);
    const callId = call?.type === 'tool_call' ? call.payload.callId : '';
    expect((await second.getSession(session.id))?.pendingToolCalls).toEqual([callId]);
    await second.submitToolResult(session.id, callId, 'answered elsewhere');
    expect((await rejectionOf(second.submitToolResult(session.id, callId, 'again'))).code).toBe(
      'TOOL_CALL_ALREADY_ANSWERED',
    );
    const rest = await collect({ [Symbol.asyncIterator]: () => followed });
    expect(eventOf(rest, 'final').payload.result).toBe('answered elsewhere');

    const waiting = await second.startSession({ code: 'return await tools.ask({})' });
    await first.startSession({ code: 'return await tools.ask({})' });
    expect((await rejectionOf(first.startSession({ code: 'return 1' }))).code).toBe('SESSION_LIMIT_REACHED');
    const cancelled = await first.cancelSession(waiting.id);
    expect(cancelled).toMatchObject({ status: 'error', error: { code: 'CANCELLED' } });
    expect(typesOf(await collect(first.streamEvents(waiting.id))).slice(-2)).toEqual(['error', 'final']);
    expect(second.health().sessions.active).toBe(0);
  });
});
