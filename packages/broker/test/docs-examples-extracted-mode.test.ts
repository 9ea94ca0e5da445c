import { afterEach, describe, expect, it } from 'vitest';
import { CURL_LINE, finalOf, postExecute, type RunningScript, startExample } from './example-helpers.js';
import { freePort } from './runtimes-test-helpers.js';

describe('extracted mode as the overview shows it (examples/extracted-mode)', () => {
  let example: RunningScript | undefined;
  afterEach(async () => {
    await example?.stop();
    example = undefined;
  });

  it('runs the printed curl request on the runtime worker', { timeout: 30_000 }, async () => {
    const [port, runtimePort] = [await freePort(), await freePort()];
    example = startExample('extracted-mode', { PORT: String(port), RUNTIME_PORT: String(runtimePort) });
    await example.waitForLine(new RegExp(`Runtime worker listening on ws://localhost:${runtimePort}$`));
    await example.waitForLine(
      new RegExp(`Broker listening on http://localhost:${port} \\(extracted mode\\)$`),
    );
    const [, url, body] = await example.waitForLine(CURL_LINE);
    const events = await postExecute(url ?? '', body ?? '');
    expect(events.find((event) => event.type === 'stdout')?.payload).toEqual({
      chunk: 'hello from the runtime worker\n',
    });
    expect(finalOf(events)).toMatchObject({ ok: true, result: 3 });

    const health = await fetch(`http://localhost:${runtimePort}/health`);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    expect(await example.stop('SIGINT')).toBe(0);
  });
});
