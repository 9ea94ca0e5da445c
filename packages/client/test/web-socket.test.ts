import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startBroker } from './test-broker.js';

describe("transport: 'websocket'", () => {
  it('follows a session over the WebSocket endpoint, answering client tools', async () => {
    await using server = await startBroker();
    const client = server.client({
      transport: 'websocket',
      WebSocket,
      tools: { add: ({ a, b }: { a: number; b: number }) => a + b },
    });
    const session = client.execute(`console.log('over ws'); return await tools.add({ a: 2, b: 3 });`);
    const types: string[] = [];
    for await (const event of session) types.push(event.type);
    expect(await session.result).toMatchObject({ ok: true, result: 5 });
    expect(types[0]).toBe('session_init');
    expect(types.at(-1)).toBe('final');
    expect(types).toContain('tool_result_applied');
    expect(session.events.map((event) => event.seq)).toEqual(session.events.map((_, index) => index + 1));
    expect(session.store.getSnapshot().stdout).toBe('over ws\n');

    const resumed = client.resume(await session.ready, 2);
    await resumed.result;
    expect(resumed.events.map((event) => event.seq)).toEqual(
      session.events.slice(1).map((event) => event.seq),
    );
  });

  it('authenticates with webSocketToken and reports an unknown session as SESSION_NOT_FOUND', async () => {
    await using server = await startBroker({
      authentication: { type: 'bearer', validate: async (token) => ({ valid: token === 'secret' }) },
    });
    const client = server.client({
      transport: 'websocket',
      WebSocket,
      headers: { authorization: 'Bearer secret' },
      webSocketToken: () => 'secret',
    });
    expect((await client.execute('return "ok"').result).result).toBe('ok');
    await expect(client.resume('ses_unknown').result).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' });
  });

  it('opens the sealed events of an encrypted session that arrive over the WebSocket', async () => {
    await using server = await startBroker();
    const client = server.client({ transport: 'websocket', WebSocket, encryption: true });
    const session = client.execute(`console.log('sealed over ws'); return 'fine'`);
    expect(await session.result).toMatchObject({ ok: true, result: 'fine' });
    expect(session.store.getSnapshot().stdout).toBe('sealed over ws\n');
    expect(session.events.at(-1)?.type).toBe('final');
  });
});
