import { describe, expect, it } from 'vitest';
import type { ClientToolHandler } from '../src/index.js';
import { startBroker, until } from './test-broker.js';

/** A client tool that answers only when its call is aborted; records that it was. */
function waitForever(aborted: string[]): ClientToolHandler {
  return (_args, context) =>
    new Promise((resolve) => {
      context.signal.addEventListener('abort', () => {
        aborted.push(context.callId);
        resolve(undefined);
      });
    });
}

describe('cancelling a session', () => {
  it('cancel() ends the session with CANCELLED and aborts the running client tool', async () => {
    await using server = await startBroker();
    const aborted: string[] = [];
    const session = server.client({ tools: { wait: waitForever(aborted) } }).execute(`
      console.log('started');
      await tools.wait({});
      console.log('never printed');
    `);
    await until(() => session.store.getSnapshot().toolCalls.length === 1);
    await session.cancel();
    const outcome = await session.result;
    expect(outcome.ok).toBe(false);
    expect(outcome.error?.code).toBe('CANCELLED');
    expect(aborted).toHaveLength(1);
    const snapshot = session.store.getSnapshot();
    expect(snapshot.state).toBe('cancelled');
    expect(snapshot.stdout).toBe('started\n');
    expect(session.events.at(-1)?.type).toBe('final');
    // Cancelling an ended session changes nothing.
    await session.cancel();
    expect((await server.client().getSession(await session.ready)).status).toBe('error');
  });

  it('an aborted signal cancels the session, also before its id is known', async () => {
    await using server = await startBroker();
    const aborted: string[] = [];
    const controller = new AbortController();
    const session = server
      .client({ tools: { wait: waitForever(aborted) } })
      .execute(`await tools.wait({});`, {
        signal: controller.signal,
      });
    controller.abort();
    const outcome = await session.result;
    expect(outcome.error?.code).toBe('CANCELLED');
    expect(session.store.getSnapshot().state).toBe('cancelled');
  });

  it('a signal aborted before execute starts nothing and rejects with CANCELLED', async () => {
    await using server = await startBroker();
    const session = server.client().execute('return 1', { signal: AbortSignal.abort() });
    await expect(session.result).rejects.toMatchObject({ code: 'CANCELLED' });
    await expect(session.ready).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(session.store.getSnapshot().state).toBe('cancelled');
    expect((await server.client().health()).sessions.total).toBe(0);
  });
});
