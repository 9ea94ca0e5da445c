import type { AddressInfo } from 'node:net';
import { EnclaveError, type FinalPayload, PROTOCOL_VERSION, type RuntimeEvent } from '@enclave-vm/types';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import {
  connectRuntime,
  createRuntimeWorker,
  type RuntimeConnection,
  type RuntimeConnectionCloseInfo,
  type RuntimeWorker,
} from '../src/index.js';
import {
  eventually,
  killCliWorker,
  type StartedCliWorker,
  startCliWorker,
  TEST_LIMITS,
} from './worker-test-client.js';

/** The loss of a worker must reach every session within this bound (a product requirement). */
const DISCONNECT_BOUND_MS = 2_000;

/** Runs a session and collects its events. */
function run(runtime: RuntimeConnection, sessionId: string, code: string) {
  const events: RuntimeEvent[] = [];
  const handle = runtime.execute({ sessionId, code, limits: TEST_LIMITS }, (event) => events.push(event));
  const nextToolCall = async (index = 0) => {
    await eventually(
      () => events.filter((event) => event.type === 'tool_call').length > index,
      `tool call ${index}`,
    );
    const call = events.filter((event) => event.type === 'tool_call')[index];
    if (call?.type !== 'tool_call') throw new Error('unreachable');
    return call.payload;
  };
  return { handle, events, nextToolCall };
}

/** Resolves with the final within `bound` ms, or rejects. */
function finalWithin(done: Promise<FinalPayload>, bound: number): Promise<FinalPayload> {
  return Promise.race([
    done,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`no final within ${bound} ms`)), bound),
    ),
  ]);
}

describe('connectRuntime: a SessionExecutor over one WebSocket', () => {
  let worker: RuntimeWorker;
  let url: string;
  let runtime: RuntimeConnection;

  beforeAll(async () => {
    worker = createRuntimeWorker({ port: 0, poolSize: 1, maxSessions: 40, loadReportInterval: 60_000 });
    ({ url } = await worker.start());
    runtime = await connectRuntime({ url });
  });

  afterAll(async () => {
    await runtime.close();
    await worker.stop();
  });

  it('exposes the worker hello and its load', () => {
    expect(runtime.hello).toEqual({
      type: 'hello',
      protocolVersion: PROTOCOL_VERSION,
      workerId: worker.workerId,
      maxSessions: 40,
      poolSize: 1,
    });
    expect(runtime.load).toMatchObject({ activeSessions: 0, maxSessions: 40 });
    expect(runtime.isOpen).toBe(true);
  });

  it('runs a session and resolves done with its final', async () => {
    const { handle, events } = run(runtime, 'rc_sum', 'console.log("hi"); return 1 + 2');
    expect(handle.sessionId).toBe('rc_sum');
    const final = await handle.done;
    expect(final).toMatchObject({ ok: true, result: 3 });
    expect(events.map((event) => event.type)).toEqual(['stdout', 'final']);
    expect(runtime.activeSessions).toBe(0);
  });

  it('routes tool results to the guest and checks call ids locally', async () => {
    const { handle, nextToolCall } = run(
      runtime,
      'rc_tools',
      `const a = await tools.add({ x: 1 }); const b = await tools.add({ x: a }); return b;`,
    );
    const first = await nextToolCall(0);
    expect(first).toMatchObject({ toolName: 'add', args: { x: 1 } });
    expect(() => handle.submitToolResult('call_nope', { ok: true, result: 0 })).toThrow(
      expect.objectContaining({ code: 'TOOL_CALL_NOT_FOUND' }),
    );
    handle.submitToolResult(first.callId, { ok: true, result: 2 });
    expect(() => handle.submitToolResult(first.callId, { ok: true, result: 2 })).toThrow(
      expect.objectContaining({ code: 'TOOL_CALL_ALREADY_ANSWERED' }),
    );
    const second = await nextToolCall(1);
    expect(second.args).toEqual({ x: 2 });
    handle.submitToolResult(second.callId, { ok: true, result: 4 });
    expect(await handle.done).toMatchObject({ ok: true, result: 4 });
    expect(() => handle.submitToolResult(second.callId, { ok: true, result: 4 })).toThrow(
      expect.objectContaining({ code: 'SESSION_ENDED' }),
    );
  });

  it('multiplexes many concurrent sessions', async () => {
    const sessions = Array.from({ length: 16 }, (_, index) =>
      run(runtime, `rc_many_${index}`, `return (await tools.echo({ index: ${index} })).index * 10;`),
    );
    expect(runtime.activeSessions).toBe(16);
    await Promise.all(
      sessions.map(async ({ handle, nextToolCall }) => {
        const call = await nextToolCall();
        handle.submitToolResult(call.callId, { ok: true, result: call.args });
      }),
    );
    const finals = await Promise.all(sessions.map(({ handle }) => handle.done));
    expect(finals.map((final) => final.result)).toEqual(sessions.map((_, index) => index * 10));
  });

  it('cancels a session', async () => {
    const { handle, events, nextToolCall } = run(runtime, 'rc_cancel', `await tools.wait({}); return 1;`);
    await nextToolCall();
    handle.cancel('no longer needed');
    const final = await handle.done;
    expect(final).toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
    expect(events.filter((event) => event.type === 'final')).toHaveLength(1);
    handle.cancel('again');
  });

  it('refuses a second session with the id of one in flight', async () => {
    const { handle, nextToolCall } = run(runtime, 'rc_duplicate', `return await tools.wait({});`);
    expect(() => run(runtime, 'rc_duplicate', 'return 2')).toThrow(
      expect.objectContaining({ code: 'VALIDATION_ERROR' }),
    );
    const call = await nextToolCall();
    handle.submitToolResult(call.callId, { ok: true, result: 'first' });
    expect(await handle.done).toMatchObject({ ok: true, result: 'first' });
  });

  it('emits load reports as sessions start and end', async () => {
    const loads: number[] = [];
    const unsubscribe = runtime.on('load', (load) => loads.push(load.activeSessions));
    try {
      const { handle } = run(runtime, 'rc_load', 'return 1');
      await handle.done;
      await eventually(() => loads.includes(1) && loads.at(-1) === 0, 'load 1 then 0');
      expect(runtime.load.activeSessions).toBe(0);
    } finally {
      unsubscribe();
    }
  });

  it('measures a ping round trip', async () => {
    const roundTrip = await runtime.ping();
    expect(roundTrip).toBeGreaterThanOrEqual(0);
  });
});

// Two of these tests start the CLI as a child process; allow for a busy shared machine.
describe('connectRuntime: closing and losing the worker', { timeout: 20_000 }, () => {
  let cliWorker: StartedCliWorker | undefined;

  afterEach(async () => {
    await killCliWorker(cliWorker);
    cliWorker = undefined;
  });

  it('close() ends its sessions with SHUTTING_DOWN and the worker stops running them', async () => {
    const worker = createRuntimeWorker({ port: 0, poolSize: 1 });
    const { url } = await worker.start();
    try {
      const runtime = await connectRuntime({ url });
      const closes: RuntimeConnectionCloseInfo[] = [];
      runtime.on('close', (info) => closes.push(info));
      const sessions = [
        run(runtime, 'rc_close_1', 'await tools.wait({})'),
        run(runtime, 'rc_close_2', 'await tools.wait({})'),
      ];
      await Promise.all(sessions.map(({ nextToolCall }) => nextToolCall()));
      expect(worker.activeSessions).toBe(2);

      await runtime.close();
      for (const { handle, events } of sessions) {
        expect(await handle.done).toMatchObject({ ok: false, error: { code: 'SHUTTING_DOWN' } });
        expect(events.slice(-2).map((event) => event.type)).toEqual(['error', 'final']);
      }
      expect(closes).toEqual([expect.objectContaining({ initiatedLocally: true, endedSessions: 2 })]);
      expect(runtime.isOpen).toBe(false);
      await eventually(() => worker.activeSessions === 0, 'the worker to cancel the sessions');

      const late = run(runtime, 'rc_after_close', 'return 1');
      expect(await late.handle.done).toMatchObject({ ok: false, error: { code: 'RUNTIME_DISCONNECTED' } });
      await expect(runtime.ping()).rejects.toMatchObject({ code: 'RUNTIME_DISCONNECTED' });
    } finally {
      await worker.stop();
    }
  });

  it('reports a worker that stops as a remote close, its sessions ended with SHUTTING_DOWN', async () => {
    const worker = createRuntimeWorker({ port: 0, poolSize: 1 });
    const { url } = await worker.start();
    const runtime = await connectRuntime({ url });
    const { handle, nextToolCall } = run(runtime, 'rc_worker_stops', 'await tools.wait({})');
    await nextToolCall();
    await worker.stop();
    expect(await handle.done).toMatchObject({ ok: false, error: { code: 'SHUTTING_DOWN' } });
    const info = await runtime.closed;
    expect(info).toMatchObject({ initiatedLocally: false, code: 1001, endedSessions: 0 });
  });

  it('ends every session in flight with RUNTIME_DISCONNECTED within 2 s when the worker process dies', async () => {
    cliWorker = await startCliWorker();
    const runtime = await connectRuntime({ url: cliWorker.url });
    const closes: RuntimeConnectionCloseInfo[] = [];
    runtime.on('close', (info) => closes.push(info));
    const sessions = [
      run(runtime, 'rc_dies_1', 'await tools.wait({})'),
      run(runtime, 'rc_dies_2', 'await tools.wait({})'),
    ];
    await Promise.all(sessions.map(({ nextToolCall }) => nextToolCall()));

    cliWorker.child.kill('SIGKILL');
    for (const { handle, events } of sessions) {
      const final = await finalWithin(handle.done, DISCONNECT_BOUND_MS);
      expect(final).toMatchObject({ ok: false, error: { code: 'RUNTIME_DISCONNECTED' } });
      expect(final.stats.toolCalls).toBe(1);
      expect(events.slice(-2).map((event) => event.type)).toEqual(['error', 'final']);
      expect(events.at(-2)).toMatchObject({ payload: { code: 'RUNTIME_DISCONNECTED', recoverable: false } });
    }
    expect(closes).toEqual([
      expect.objectContaining({ initiatedLocally: false, endedSessions: 2, error: expect.any(EnclaveError) }),
    ]);
    expect(closes[0]?.error.code).toBe('RUNTIME_DISCONNECTED');
    expect(runtime.activeSessions).toBe(0);
  });

  it('detects a worker that stops answering (frozen process) with pings, within 2 s', async () => {
    cliWorker = await startCliWorker();
    const runtime = await connectRuntime({ url: cliWorker.url });
    const { handle, nextToolCall } = run(runtime, 'rc_frozen', 'await tools.wait({})');
    await nextToolCall();

    cliWorker.child.kill('SIGSTOP');
    try {
      const final = await finalWithin(handle.done, DISCONNECT_BOUND_MS);
      expect(final).toMatchObject({ ok: false, error: { code: 'RUNTIME_DISCONNECTED' } });
      const info = await runtime.closed;
      expect(info.initiatedLocally).toBe(false);
      expect(info.error.message).toMatch(/ping/);
    } finally {
      cliWorker.child.kill('SIGKILL');
    }
  });
});

describe('connectRuntime: handshake failures', () => {
  it('rejects with RUNTIME_UNAVAILABLE when nothing listens', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    await expect(connectRuntime({ url: `ws://127.0.0.1:${port}` })).rejects.toMatchObject({
      code: 'RUNTIME_UNAVAILABLE',
    });
  });

  it('rejects a worker speaking another major protocol version, or sending no hello', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    let greeting: unknown;
    server.on('connection', (socket) => {
      if (greeting !== undefined) socket.send(JSON.stringify(greeting));
    });
    try {
      greeting = { type: 'hello', protocolVersion: '2.0', workerId: 'future', maxSessions: 1, poolSize: 1 };
      await expect(connectRuntime({ url: `ws://127.0.0.1:${port}` })).rejects.toMatchObject({
        code: 'PROTOCOL_VERSION_MISMATCH',
      });
      greeting = undefined;
      await expect(
        connectRuntime({ url: `ws://127.0.0.1:${port}`, connectTimeout: 200 }),
      ).rejects.toMatchObject({
        code: 'RUNTIME_UNAVAILABLE',
      });
      greeting = { type: 'load', activeSessions: 0, maxSessions: 1, poolSize: 1 };
      await expect(connectRuntime({ url: `ws://127.0.0.1:${port}` })).rejects.toMatchObject({
        code: 'PROTOCOL_ERROR',
      });
    } finally {
      for (const client of server.clients) client.terminate();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('reports an invalid message from the worker as an error event and keeps the connection', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    server.on('connection', (socket) => {
      socket.send(
        JSON.stringify({
          type: 'hello',
          protocolVersion: PROTOCOL_VERSION,
          workerId: 'w',
          maxSessions: 1,
          poolSize: 1,
        }),
      );
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as { type: string; id: number; ts: number };
        if (message.type === 'ping') {
          socket.send('this is not json');
          socket.send(JSON.stringify({ type: 'pong', id: message.id, ts: message.ts }));
        }
      });
    });
    const runtime = await connectRuntime({ url: `ws://127.0.0.1:${port}`, pingInterval: 60_000 });
    try {
      const errors: EnclaveError[] = [];
      runtime.on('error', (error) => errors.push(error));
      await runtime.ping();
      expect(errors).toEqual([expect.objectContaining({ code: 'PROTOCOL_ERROR' })]);
      expect(runtime.isOpen).toBe(true);
    } finally {
      await runtime.close();
      for (const client of server.clients) client.terminate();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('rejects options that cannot work with CONFIGURATION_ERROR', async () => {
    await expect(connectRuntime({ url: 'http://127.0.0.1:1' })).rejects.toMatchObject({
      code: 'CONFIGURATION_ERROR',
    });
    await expect(connectRuntime({ url: 'ws://127.0.0.1:1', pingTimeout: 0 })).rejects.toMatchObject({
      code: 'CONFIGURATION_ERROR',
    });
  });
});
