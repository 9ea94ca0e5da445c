import { request } from 'node:http';
import { PROTOCOL_VERSION } from '@enclave-vm/types';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRuntimeWorker, type RuntimeWorker } from '../src/index.js';
import { ChannelClient, eventually } from './worker-test-client.js';

describe('runtime worker: sessions over one connection', () => {
  let worker: RuntimeWorker;
  let url: string;
  let client: ChannelClient;

  beforeAll(async () => {
    worker = createRuntimeWorker({ port: 0, poolSize: 1, maxSessions: 50, workerId: 'worker-under-test' });
    ({ url } = await worker.start());
  });

  afterAll(async () => {
    await worker.stop();
  });

  beforeEach(async () => {
    client = await ChannelClient.connect(url);
  });

  afterEach(async () => {
    await client.close();
    await eventually(() => worker.activeSessions === 0, 'the sessions of the test to end');
  });

  it('greets with hello and the current load', () => {
    expect(client.messages[0]).toEqual({
      type: 'hello',
      protocolVersion: PROTOCOL_VERSION,
      workerId: 'worker-under-test',
      maxSessions: 50,
      poolSize: 1,
    });
    expect(client.messages[1]).toEqual({
      type: 'load',
      activeSessions: 0,
      maxSessions: 50,
      poolSize: 1,
      parkedSessions: 0,
    });
  });

  it('runs code and sends its result in a final event', async () => {
    client.execute('ses_sum', 'return 1 + 2');
    const final = await client.waitForFinal('ses_sum');
    expect(final).toMatchObject({ ok: true, result: 3 });
    expect(client.eventsOf('ses_sum').at(-1)?.type).toBe('final');
  });

  it('round-trips tool calls made with tools.name and callTool', async () => {
    client.execute(
      'ses_tools',
      `const time = await tools.getCurrentTime({ timezone: 'UTC' });
       console.log('time is', time);
       const users = await callTool('users:list', { limit: 2 });
       return { time, count: users.length };`,
    );
    const first = await client.waitForToolCall('ses_tools', 0);
    expect(first).toMatchObject({ toolName: 'getCurrentTime', args: { timezone: 'UTC' } });
    client.answer('ses_tools', first.callId, '12:00');
    const second = await client.waitForToolCall('ses_tools', 1);
    expect(second).toMatchObject({ toolName: 'users:list', args: { limit: 2 } });
    client.answer('ses_tools', second.callId, [{ id: 1 }, { id: 2 }]);

    const final = await client.waitForFinal('ses_tools');
    expect(final).toMatchObject({ ok: true, result: { time: '12:00', count: 2 } });
    expect(final.stats.toolCalls).toBe(2);
    const stdout = client.eventsOf('ses_tools').filter((event) => event.type === 'stdout');
    expect(stdout.map((event) => (event.type === 'stdout' ? event.payload.chunk : ''))).toEqual([
      'time is 12:00\n',
    ]);
  });

  it('hands a failed tool result to the guest as a thrown error', async () => {
    client.execute(
      'ses_tool_error',
      `try { await tools.flaky({}); return 'no error'; } catch (error) { return 'caught: ' + error.message; }`,
    );
    const call = await client.waitForToolCall('ses_tool_error');
    client.send({
      type: 'tool_result',
      sessionId: 'ses_tool_error',
      callId: call.callId,
      ok: false,
      error: { code: 'TOOL_ERROR', message: 'upstream is down' },
    });
    const final = await client.waitForFinal('ses_tool_error');
    expect(final.ok).toBe(true);
    expect(String(final.result)).toContain('upstream is down');
  });

  it('multiplexes many sessions on one connection, each with its own tool answers', async () => {
    const count = 12;
    const ids = Array.from({ length: count }, (_, index) => `ses_many_${index}`);
    for (const [index, sessionId] of ids.entries()) {
      client.execute(
        sessionId,
        `const doubled = await tools.double({ value: ${index} }); return doubled + 1;`,
      );
    }
    const calls = await Promise.all(ids.map((sessionId) => client.waitForToolCall(sessionId)));
    // Answer in reverse order: each answer must reach its own session.
    for (const [index, call] of [...calls.entries()].reverse()) {
      expect(call.args).toEqual({ value: index });
      client.answer(ids[index] as string, call.callId, index * 2);
    }
    const finals = await Promise.all(ids.map((sessionId) => client.waitForFinal(sessionId)));
    expect(finals.map((final) => final.result)).toEqual(ids.map((_, index) => index * 2 + 1));
    for (const sessionId of ids) {
      expect(client.eventsOf(sessionId).filter((event) => event.type === 'final')).toHaveLength(1);
    }
  });

  it('sends the events of one session produced together in fewer messages than events', async () => {
    client.execute('ses_batch', `for (let i = 0; i < 20; i++) console.log('line', i); return 'done';`);
    await client.waitForFinal('ses_batch');
    const events = client.eventsOf('ses_batch');
    expect(events.filter((event) => event.type === 'stdout')).toHaveLength(20);
    // 21 events produced in one burst travel together, not one message each.
    expect(events).toHaveLength(21);
    expect(client.batchesOf('ses_batch').length).toBeLessThanOrEqual(2);
  });

  it('cancels a session waiting on a tool', async () => {
    client.execute('ses_cancel', `await tools.never({}); return 'unreachable';`);
    await client.waitForToolCall('ses_cancel');
    expect(worker.activeSessions).toBe(1);
    client.send({ type: 'cancel', sessionId: 'ses_cancel', reason: 'user pressed stop' });
    const final = await client.waitForFinal('ses_cancel');
    expect(final).toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
    const errors = client.eventsOf('ses_cancel').filter((event) => event.type === 'error');
    expect(errors).toEqual([
      expect.objectContaining({ payload: expect.objectContaining({ code: 'CANCELLED' }) }),
    ]);
  });

  it('answers tool results it cannot apply with a channel error naming the session', async () => {
    client.execute(
      'ses_calls',
      `const a = await tools.first({}); const b = await tools.second({}); return a + b;`,
    );
    const first = await client.waitForToolCall('ses_calls');

    client.answer('ses_calls', 'call_does_not_exist', 1);
    const unknownCall = await client.waitForNextError(0);
    expect(unknownCall).toMatchObject({ code: 'TOOL_CALL_NOT_FOUND', sessionId: 'ses_calls' });

    client.answer('ses_calls', first.callId, 1);
    client.answer('ses_calls', first.callId, 1);
    const answeredTwice = await client.waitForNextError(1);
    expect(answeredTwice).toMatchObject({ code: 'TOOL_CALL_ALREADY_ANSWERED', sessionId: 'ses_calls' });

    client.answer('ses_unknown', 'call_1', 1);
    const unknownSession = await client.waitForNextError(2);
    expect(unknownSession).toMatchObject({ code: 'SESSION_NOT_FOUND', sessionId: 'ses_unknown' });

    const second = await client.waitForToolCall('ses_calls', 1);
    client.answer('ses_calls', second.callId, 2);
    expect(await client.waitForFinal('ses_calls')).toMatchObject({ ok: true, result: 3 });
  });

  it('refuses a second execute with the id of a running session and keeps the first', async () => {
    client.execute('ses_twice', `const value = await tools.wait({}); return value;`);
    const call = await client.waitForToolCall('ses_twice');
    client.execute('ses_twice', 'return "impostor"');
    const error = await client.waitForNextError(0);
    expect(error).toMatchObject({ code: 'PROTOCOL_ERROR', sessionId: 'ses_twice' });
    expect(error.message).toContain('already running');
    client.answer('ses_twice', call.callId, 'original');
    expect(await client.waitForFinal('ses_twice')).toMatchObject({ ok: true, result: 'original' });
  });

  it('keeps sessions of different connections apart', async () => {
    const other = await ChannelClient.connect(url);
    try {
      client.execute('ses_mine', `return await tools.value({});`);
      const call = await client.waitForToolCall('ses_mine');
      other.answer('ses_mine', call.callId, 'stolen');
      expect(await other.waitForNextError(0)).toMatchObject({
        code: 'SESSION_NOT_FOUND',
        sessionId: 'ses_mine',
      });
      client.answer('ses_mine', call.callId, 'mine');
      expect(await client.waitForFinal('ses_mine')).toMatchObject({ ok: true, result: 'mine' });
      expect(other.eventsOf('ses_mine')).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('answers ping with a pong carrying the same id and timestamp', async () => {
    client.send({ type: 'ping', id: 41, ts: 1_767_225_600_000 });
    const pong = await client.waitFor((message) => message.type === 'pong');
    expect(pong).toEqual({ type: 'pong', id: 41, ts: 1_767_225_600_000 });
  });

  it('reports load when sessions start and end', async () => {
    client.execute('ses_load', `return await tools.hold({});`);
    await client.waitFor((message) => message.type === 'load' && message.activeSessions === 1, 'load 1');
    const call = await client.waitForToolCall('ses_load');
    client.answer('ses_load', call.callId, 'released');
    await client.waitForFinal('ses_load');
    const afterStart = client.messages.findIndex(
      (message) => message.type === 'load' && message.activeSessions === 1,
    );
    await client.waitFor(
      (message) =>
        message.type === 'load' &&
        message.activeSessions === 0 &&
        client.messages.indexOf(message) > afterStart,
      'load 0 after the session',
    );
  });

  it('serves a health document over plain HTTP and asks other requests to upgrade', async () => {
    const health = await httpGet(`${url.replace('ws:', 'http:')}/health`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({
      status: 'ok',
      workerId: 'worker-under-test',
      activeSessions: 0,
      parkedSessions: 0,
      maxSessions: 50,
      poolSize: 1,
    });
    const other = await httpGet(`${url.replace('ws:', 'http:')}/anything`);
    expect(other.status).toBe(426);
  });
});

describe('runtime worker: parked sessions', () => {
  it('reports a session parked while it waits on a tool in load messages and /health, and resumes it', async () => {
    const worker = createRuntimeWorker({ port: 0, poolSize: 1, parkAfterMs: 50 });
    const { url } = await worker.start();
    const client = await ChannelClient.connect(url);
    try {
      client.execute(
        'ses_park',
        'const kept = [1, 2, 3]; const value = await tools.hold({}); return value + kept.length;',
      );
      const call = await client.waitForToolCall('ses_park');
      await client.waitFor(
        (message) => message.type === 'load' && message.activeSessions === 1 && message.parkedSessions === 1,
        'a load message with the session parked',
      );
      expect(worker.parkedSessions).toBe(1);
      const health = await httpGet(`${url.replace('ws:', 'http:')}/health`);
      expect(JSON.parse(health.body)).toMatchObject({ activeSessions: 1, parkedSessions: 1 });

      client.answer('ses_park', call.callId, 39);
      expect(await client.waitForFinal('ses_park')).toMatchObject({ ok: true, result: 42 });
      await client.waitFor(
        (message) => message.type === 'load' && message.activeSessions === 0 && message.parkedSessions === 0,
        'a load message with nothing parked',
      );
    } finally {
      await client.close();
      await worker.stop();
    }
  });

  it('keeps a waiting session unparked with parkAfterMs: Infinity', async () => {
    const worker = createRuntimeWorker({ port: 0, poolSize: 1, parkAfterMs: Number.POSITIVE_INFINITY });
    const { url } = await worker.start();
    const client = await ChannelClient.connect(url);
    try {
      client.execute('ses_awake', 'return await tools.hold({});');
      const call = await client.waitForToolCall('ses_awake');
      // Longer than the default of a second, and than two checks of the parked count.
      await new Promise((resolve) => setTimeout(resolve, 1_300));
      expect(worker.parkedSessions).toBe(0);
      expect(
        client.messages.filter((message) => message.type === 'load' && message.parkedSessions !== 0),
      ).toEqual([]);
      client.answer('ses_awake', call.callId, 'still here');
      expect(await client.waitForFinal('ses_awake')).toMatchObject({ ok: true, result: 'still here' });
    } finally {
      await client.close();
      await worker.stop();
    }
  });
});

describe('runtime worker: capacity and periodic load', () => {
  it('answers an execute beyond maxSessions with RUNTIME_UNAVAILABLE and accepts again once a slot frees', async () => {
    const worker = createRuntimeWorker({ port: 0, poolSize: 1, maxSessions: 2 });
    const { url } = await worker.start();
    const client = await ChannelClient.connect(url);
    try {
      client.execute('ses_a', `return await tools.hold({});`);
      client.execute('ses_b', `return await tools.hold({});`);
      client.execute('ses_c', `return 'too many'`);
      const refused = await client.waitForFinal('ses_c');
      expect(refused).toMatchObject({ ok: false, error: { code: 'RUNTIME_UNAVAILABLE' } });
      expect(client.eventsOf('ses_c').map((event) => event.type)).toEqual(['error', 'final']);

      const call = await client.waitForToolCall('ses_a');
      client.answer('ses_a', call.callId, 'a');
      await client.waitForFinal('ses_a');
      client.execute('ses_d', `return 'fits now'`);
      expect(await client.waitForFinal('ses_d')).toMatchObject({ ok: true, result: 'fits now' });
    } finally {
      await client.close();
      await worker.stop();
    }
  });

  it('reports load periodically while nothing changes', async () => {
    const worker = createRuntimeWorker({ port: 0, poolSize: 1, loadReportInterval: 30 });
    const { url } = await worker.start();
    const client = await ChannelClient.connect(url);
    try {
      await eventually(
        () => client.messages.filter((message) => message.type === 'load').length >= 4,
        'four load reports',
      );
      const loads = client.messages.filter((message) => message.type === 'load');
      expect(loads.every((load) => load.type === 'load' && load.activeSessions === 0)).toBe(true);
    } finally {
      await client.close();
      await worker.stop();
    }
  });
});

function httpGet(target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(target, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}
