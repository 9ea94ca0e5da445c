import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CURL_LINE,
  finalOf,
  postExecute,
  type ReceivedEvent,
  type RunningScript,
  startExample,
} from './example-helpers.js';
import { type RedisServer, startRedisServer } from './redis-server.js';
import { freePort } from './runtimes-test-helpers.js';

describe('the Complete Example of the broker reference (examples/complete-broker)', () => {
  let redis: RedisServer;
  const examples: RunningScript[] = [];
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterEach(async () => {
    await Promise.all(examples.splice(0).map((example) => example.stop()));
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('runs as written with REDIS_URL: registry tools over HTTP, its events logged, SIGTERM to stop', {
    timeout: 30_000,
  }, async () => {
    const port = await freePort();
    const example = startExample('complete-broker', { PORT: String(port), REDIS_URL: redis.url });
    examples.push(example);
    await example.waitForLine(new RegExp(`^Broker running on port ${port}$`));
    const [, url, body] = await example.waitForLine(CURL_LINE);
    const events = await postExecute(url ?? '', body ?? '');
    expect(finalOf(events)).toEqual(
      expect.objectContaining({ ok: true, result: [{ id: '1', name: 'Alice' }] }),
    );

    const second = await postExecute(
      `http://localhost:${port}/execute`,
      JSON.stringify({ code: 'return await callTool("users:get", { id: "7" })' }),
    );
    expect(finalOf(second)).toMatchObject({ ok: true, result: { id: '7', name: 'Alice' } });

    await example.waitForLine(/^Session created: \S+/);
    await example.waitForLine(/^Tool called: users:list/);
    await example.waitForLine(/^Tool called: users:get/);
    expect(await example.stop('SIGTERM')).toBe(0);
  });

  it('started twice on one REDIS_URL, is one service: either copy serves the other one’s sessions', {
    timeout: 30_000,
  }, async () => {
    const ports = [await freePort(), await freePort()] as const;
    for (const port of ports)
      examples.push(startExample('complete-broker', { PORT: String(port), REDIS_URL: redis.url }));
    for (const [index, example] of examples.entries()) {
      await example.waitForLine(new RegExp(`^Broker running on port ${ports[index]}$`));
    }
    const events = await postExecute(
      `http://localhost:${ports[0]}/execute`,
      JSON.stringify({
        code: 'console.log("from the first"); return await callTool("users:list", { limit: 2 })',
      }),
    );
    const sessionId = (events[0] as ReceivedEvent & { sessionId?: string }).sessionId ?? '';
    const info = await (await fetch(`http://localhost:${ports[1]}/sessions/${sessionId}`)).json();
    expect(info).toMatchObject({ id: sessionId, status: 'completed', lastSeq: events.length });
    const replay = await (await fetch(`http://localhost:${ports[1]}/sessions/${sessionId}/events`)).text();
    expect(
      replay
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual(events);
  });
});
