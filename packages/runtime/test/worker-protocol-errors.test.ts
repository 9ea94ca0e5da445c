import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntimeWorker, type RuntimeWorker } from '../src/index.js';
import { ChannelClient } from './worker-test-client.js';

const MAX_MESSAGE_BYTES = 64 * 1024;

describe('runtime worker: invalid messages', () => {
  let worker: RuntimeWorker;
  let url: string;

  beforeAll(async () => {
    worker = createRuntimeWorker({ port: 0, poolSize: 1, maxMessageBytes: MAX_MESSAGE_BYTES });
    ({ url } = await worker.start());
  });

  afterAll(async () => {
    await worker.stop();
  });

  it('answers bad JSON, a wrong shape, an unknown type and an oversized message with PROTOCOL_ERROR while a session goes on', async () => {
    const client = await ChannelClient.connect(url);
    try {
      client.execute('ses_survivor', `const value = await tools.wait({}); return 'survived ' + value;`);
      const call = await client.waitForToolCall('ses_survivor');

      client.sendRaw('{"type": "ping", "id": ');
      const badJson = await client.waitForNextError(0);
      expect(badJson.code).toBe('PROTOCOL_ERROR');
      expect(badJson.message).toMatch(/not valid JSON/);

      client.send({ type: 'execute', sessionId: 'ses_shape', limits: {} });
      const wrongShape = await client.waitForNextError(1);
      expect(wrongShape).toMatchObject({ code: 'PROTOCOL_ERROR', sessionId: 'ses_shape' });
      expect(wrongShape.message).toContain('code');
      expect(wrongShape.message).toContain('limits');

      client.send({ type: 'reboot', sessionId: 'ses_survivor' });
      const unknownType = await client.waitForNextError(2);
      expect(unknownType.code).toBe('PROTOCOL_ERROR');
      expect(unknownType.message).toContain('type');

      client.send({
        type: 'execute',
        sessionId: 'ses_big',
        code: `return '${'x'.repeat(MAX_MESSAGE_BYTES)}'`,
      });
      const oversized = await client.waitForNextError(3);
      expect(oversized.code).toBe('PROTOCOL_ERROR');
      expect(oversized.message).toContain(`limit of ${MAX_MESSAGE_BYTES} bytes`);

      client.sendRaw('[1, 2, 3]');
      expect((await client.waitForNextError(4)).code).toBe('PROTOCOL_ERROR');

      // None of it disturbed the running session or the connection.
      client.answer('ses_survivor', call.callId, 'all of it');
      expect(await client.waitForFinal('ses_survivor')).toMatchObject({
        ok: true,
        result: 'survived all of it',
      });
      expect(client.eventsOf('ses_shape')).toEqual([]);
      expect(client.eventsOf('ses_big')).toEqual([]);
    } finally {
      await client.close();
    }
  });

  it('accepts a valid message sent as a binary frame', async () => {
    const client = await ChannelClient.connect(url);
    try {
      client.socket.send(Buffer.from(JSON.stringify({ type: 'ping', id: 7, ts: 1 })), { binary: true });
      expect(await client.waitFor((message) => message.type === 'pong')).toEqual({
        type: 'pong',
        id: 7,
        ts: 1,
      });
    } finally {
      await client.close();
    }
  });

  it('closes only the connection that sends a frame far above the limit (code 1009)', async () => {
    const offender = await ChannelClient.connect(url);
    const bystander = await ChannelClient.connect(url);
    try {
      bystander.execute('ses_bystander', `return await tools.wait({});`);
      const call = await bystander.waitForToolCall('ses_bystander');
      offender.sendRaw('x'.repeat(MAX_MESSAGE_BYTES * 4 + 1));
      expect(await offender.waitForClose()).toBe(1009);
      bystander.answer('ses_bystander', call.callId, 'unaffected');
      expect(await bystander.waitForFinal('ses_bystander')).toMatchObject({ ok: true, result: 'unaffected' });
    } finally {
      await offender.close();
      await bystander.close();
    }
  });
});
