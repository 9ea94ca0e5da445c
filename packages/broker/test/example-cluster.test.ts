import { afterEach, describe, expect, it } from 'vitest';
import { type RunningScript, startExample } from './example-helpers.js';
import { EventReader, postJson } from './http-test-helpers.js';
import { assertRedisServerInstalled } from './redis-server.js';
import { freePort } from './runtimes-test-helpers.js';

describe('examples/cluster: two brokers and a runtime worker on one redis-server', () => {
  let example: RunningScript | undefined;
  afterEach(async () => {
    await example?.stop('SIGINT');
    example = undefined;
  });

  it('starts with one command and walks a session from broker A to broker B as it prints', {
    timeout: 60_000,
  }, async () => {
    assertRedisServerInstalled();
    const [portA, portB, runtimePort, redisPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    example = startExample('cluster', {
      PORT_A: String(portA),
      PORT_B: String(portB),
      RUNTIME_PORT: String(runtimePort),
      REDIS_PORT: String(redisPort),
    });
    await example.waitForLine(/^Cluster ready\./, 45_000);
    const a = `http://localhost:${portA}`;
    const b = `http://localhost:${portB}`;
    const printed = example.lines.join('\n');
    expect(printed).toContain(`curl -sN -X POST ${a}/execute`);
    expect(printed).toContain(`curl -s ${b}/sessions/$SID`);
    expect(printed).toContain(`curl -sN "${b}/sessions/$SID/events?fromSeq=1"`);
    expect(printed).toContain(`curl -s -X POST ${b}/sessions/$SID/tool-result`);

    // 1. Start a session on A; it waits for the client's askUser answer.
    const started = await postJson(`${a}/execute`, {
      code: 'const name = await tools.askUser({ question: "Name?" }); return "Hello, " + name',
    });
    const sessionId = started.headers.get('x-session-id') ?? '';
    const onA = new EventReader(started);
    expect((await onA.next()).type).toBe('session_init');
    expect(await onA.next()).toMatchObject({
      type: 'tool_call',
      payload: { callId: 'call_1', toolName: 'askUser' },
    });
    // 2. The same record on B.
    expect(await (await fetch(`${b}/sessions/${sessionId}`)).json()).toMatchObject({
      status: 'running',
      pendingToolCalls: ['call_1'],
    });
    // 3. Resume on B, 4. answer through B.
    const onB = new EventReader(await fetch(`${b}/sessions/${sessionId}/events?fromSeq=1`));
    expect((await onB.next()).seq).toBe(1);
    const answer = await postJson(`${b}/sessions/${sessionId}/tool-result`, {
      callId: 'call_1',
      result: 'Ada',
    });
    expect(await answer.json()).toEqual({ success: true });
    for (const stream of [onA, onB]) {
      expect((await stream.rest()).at(-1)).toMatchObject({
        type: 'final',
        payload: { ok: true, result: 'Hello, Ada' },
      });
    }
    expect(await example.stop('SIGINT')).toBe(0);
  });
});
