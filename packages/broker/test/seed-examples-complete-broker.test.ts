import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from './runtimes-test-helpers.js';
import {
  CURL_LINE,
  finalOf,
  postExecute,
  type RunningScript,
  startExample,
} from './seed-examples-helpers.js';

describe('the Complete Example of the broker reference (examples/complete-broker)', () => {
  let example: RunningScript | undefined;
  afterEach(async () => {
    await example?.stop();
    example = undefined;
  });

  it('serves its registry tools over HTTP, logs its events and shuts down on SIGTERM', {
    timeout: 30_000,
  }, async () => {
    const port = await freePort();
    example = startExample('complete-broker', { PORT: String(port) });
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
});
