import { describe, expect, it } from 'vitest';
import { createSessionStore, type SessionSnapshot } from '../src/index.js';
import { startBroker } from './test-broker.js';

describe('the session store with a real session', () => {
  it('moves from idle to running to completed, with a new snapshot only on change', async () => {
    await using server = await startBroker();
    const store = createSessionStore();
    const snapshots: SessionSnapshot[] = [];
    store.subscribe(() => {
      const snapshot = store.getSnapshot();
      // Stable between changes, as useSyncExternalStore requires.
      expect(store.getSnapshot()).toBe(snapshot);
      snapshots.push(snapshot);
    });
    expect(store.getSnapshot().state).toBe('idle');
    const client = server.client({ tools: { double: ({ n }: { n: number }) => n * 2 } });
    const session = client.execute(
      `console.log('one'); console.info('note'); const d = await tools.double({ n: 21 }); console.log('two'); return d;`,
      { store },
    );
    expect(session.store).toBe(store);
    await session.result;

    const states = snapshots.map((snapshot) => snapshot.state);
    expect(states[0]).toBe('running');
    expect(states.at(-1)).toBe('completed');
    expect(new Set(states)).toEqual(new Set(['running', 'completed']));
    expect(new Set(snapshots).size).toBe(snapshots.length);
    const last = store.getSnapshot();
    expect(last).toMatchObject({
      state: 'completed',
      sessionId: session.sessionId,
      stdout: 'one\ntwo\n',
      result: 42,
      error: undefined,
    });
    expect(last.logs).toEqual([expect.objectContaining({ level: 'info', message: 'note' })]);
    expect(last.toolCalls).toEqual([
      expect.objectContaining({ toolName: 'double', args: { n: 21 }, status: 'completed', result: 42 }),
    ]);
    expect(last.stats?.toolCalls).toBe(1);
    expect(last.events).toEqual(session.events);
    expect(Object.isFrozen(last)).toBe(true);

    // The same store records the next run from scratch; the earlier snapshot stays as it was.
    const next = client.execute(`throw new Error('nope')`, { store });
    await next.result;
    expect(store.getSnapshot()).toMatchObject({
      state: 'error',
      stdout: '',
      error: { code: 'EXECUTION_ERROR' },
    });
    expect(last.stdout).toBe('one\ntwo\n');
  });
});
