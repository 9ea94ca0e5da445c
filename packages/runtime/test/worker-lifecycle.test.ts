import { EnclaveError } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { connectRuntime, createRuntimeWorker, createSandboxPool } from '../src/index.js';
import { ChannelClient, eventually } from './worker-test-client.js';

describe('runtime worker: connections and lifecycle', () => {
  it('cancels the sessions of a connection that drops, and only those', async () => {
    const worker = createRuntimeWorker({ port: 0, poolSize: 1 });
    const { url } = await worker.start();
    const dropped = await ChannelClient.connect(url);
    const staying = await ChannelClient.connect(url);
    try {
      for (const sessionId of ['ses_drop_1', 'ses_drop_2', 'ses_drop_3']) {
        dropped.execute(sessionId, `await tools.wait({}); return 'unreachable';`);
      }
      staying.execute('ses_stay', `return await tools.wait({});`);
      await Promise.all(['ses_drop_1', 'ses_drop_2', 'ses_drop_3'].map((id) => dropped.waitForToolCall(id)));
      const call = await staying.waitForToolCall('ses_stay');
      expect(worker.activeSessions).toBe(4);

      dropped.socket.terminate();
      await eventually(() => worker.activeSessions === 1, 'the dropped connection sessions to be cancelled');
      expect(worker.connections).toBe(1);

      staying.answer('ses_stay', call.callId, 'still here');
      expect(await staying.waitForFinal('ses_stay')).toMatchObject({ ok: true, result: 'still here' });
      await eventually(() => worker.activeSessions === 0, 'all sessions to end');
    } finally {
      await staying.close();
      await worker.stop();
    }
  });

  it('stop() ends running sessions with SHUTTING_DOWN, sends them, then closes every connection', async () => {
    const worker = createRuntimeWorker({ port: 0, poolSize: 1 });
    const { url } = await worker.start();
    const first = await ChannelClient.connect(url);
    const second = await ChannelClient.connect(url);
    first.execute('ses_stop_1', `await tools.wait({}); return 'unreachable';`);
    first.execute('ses_stop_2', `console.log('started'); await tools.wait({}); return 'unreachable';`);
    second.execute('ses_stop_3', `await tools.wait({}); return 'unreachable';`);
    await Promise.all([
      first.waitForToolCall('ses_stop_1'),
      first.waitForToolCall('ses_stop_2'),
      second.waitForToolCall('ses_stop_3'),
    ]);

    await worker.stop();

    for (const [client, sessionId] of [
      [first, 'ses_stop_1'],
      [first, 'ses_stop_2'],
      [second, 'ses_stop_3'],
    ] as const) {
      const events = client.eventsOf(sessionId);
      const ending = events.slice(-2);
      expect(ending.map((event) => event.type)).toEqual(['error', 'final']);
      expect(ending[0]).toMatchObject({ payload: { code: 'SHUTTING_DOWN', recoverable: false } });
      expect(ending[1]).toMatchObject({ payload: { ok: false, error: { code: 'SHUTTING_DOWN' } } });
      expect(events.filter((event) => event.type === 'final')).toHaveLength(1);
    }
    expect(await first.waitForClose()).toBe(1001);
    expect(await second.waitForClose()).toBe(1001);
    expect(worker.activeSessions).toBe(0);
    expect(worker.connections).toBe(0);

    await expect(ChannelClient.connect(url)).rejects.toThrow(/ECONNREFUSED/);
    await worker.stop();
    await expect(worker.start()).rejects.toMatchObject({ code: 'CONFIGURATION_ERROR' });
  });

  it('with authToken, accepts the right bearer token and refuses others with HTTP 401 before the socket opens', async () => {
    const worker = createRuntimeWorker({ port: 0, poolSize: 1, authToken: 'correct horse battery staple' });
    const { url } = await worker.start();
    try {
      expect(await upgradeStatus(url)).toBe(401);
      expect(await upgradeStatus(url, { authorization: 'Bearer wrong' })).toBe(401);
      expect(await upgradeStatus(url, { authorization: 'correct horse battery staple' })).toBe(401);
      expect(worker.connections).toBe(0);

      const client = await ChannelClient.connect(url, {
        authorization: 'Bearer correct horse battery staple',
      });
      client.execute('ses_auth', 'return 1 + 2');
      expect(await client.waitForFinal('ses_auth')).toMatchObject({ ok: true, result: 3 });
      await client.close();

      const refused = await connectRuntime({ url, authToken: 'wrong' }).catch((error: unknown) => error);
      expect(EnclaveError.isInstance(refused) && refused.code).toBe('UNAUTHORIZED');
      const runtime = await connectRuntime({ url, authToken: 'correct horse battery staple' });
      expect(runtime.hello.workerId).toBe(worker.workerId);
      await runtime.close();
    } finally {
      await worker.stop();
    }
  });

  it('rejects invalid options and an address already in use with CONFIGURATION_ERROR', async () => {
    expect(() => createRuntimeWorker({ port: -1 })).toThrow(EnclaveError);
    expect(() => createRuntimeWorker({ maxSessions: 0 })).toThrow(/maxSessions must be a positive integer/);
    expect(() => createRuntimeWorker({ poolSize: 1.5 })).toThrow(/poolSize/);
    expect(() => createRuntimeWorker({ authToken: '' })).toThrow(/authToken/);
    expect(() => createRuntimeWorker({ parkAfterMs: -1 })).toThrow(/parkAfterMs must be a number of ms ≥ 0/);
    expect(() => createRuntimeWorker({ parkAfterMs: Number.NaN })).toThrow(/parkAfterMs/);
    const injected = createSandboxPool({ size: 1 });
    try {
      expect(() => createRuntimeWorker({ executor: injected, parkAfterMs: 10 })).toThrow(
        /parkAfterMs applies to the sandbox pool the worker creates/,
      );
    } finally {
      await injected.close();
    }

    const worker = createRuntimeWorker({ port: 0, poolSize: 1 });
    const { port } = await worker.start();
    const clash = createRuntimeWorker({ port, poolSize: 1 });
    try {
      await expect(worker.start()).rejects.toMatchObject({ code: 'CONFIGURATION_ERROR' });
      await expect(clash.start()).rejects.toMatchObject({
        code: 'CONFIGURATION_ERROR',
        message: expect.stringContaining('EADDRINUSE'),
      });
    } finally {
      await clash.stop();
      await worker.stop();
    }
  });
});

/** The HTTP status the worker answers a WebSocket upgrade with (101 when it accepts). */
function upgradeStatus(url: string, headers?: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, headers === undefined ? undefined : { headers });
    socket.on('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.on('open', () => {
      resolve(101);
      socket.close();
    });
    socket.on('error', (error) => {
      if (!/Unexpected server response/.test(error.message)) reject(error);
    });
  });
}
