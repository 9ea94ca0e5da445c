import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CURL_LINE,
  finalOf,
  postExecute,
  REPOSITORY_ROOT,
  type RunningScript,
  startScript,
} from './example-helpers.js';

describe('pnpm start (scripts/start.mjs)', () => {
  let script: RunningScript | undefined;
  afterEach(async () => {
    await script?.stop();
    script = undefined;
  });

  it('starts a broker whose printed curl lines work, and stops cleanly on SIGINT', {
    timeout: 30_000,
  }, async () => {
    script = startScript([join(REPOSITORY_ROOT, 'scripts', 'start.mjs')], REPOSITORY_ROOT, { PORT: '0' });
    const [, url] = await script.waitForLine(/EnclaveJS broker listening on (http:\/\/localhost:\d+) /);
    expect(url).not.toMatch(/:0$/);
    await script.waitForLine(/Stop with Ctrl-C/);
    const curls = script.lines.map((line) => CURL_LINE.exec(line)).filter((match) => match !== null);
    expect(curls).toHaveLength(2);
    expect(curls[0]?.[0]).toBe(
      `curl -N -X POST ${url}/execute -H 'Content-Type: application/json' -d '{"code":"return 1 + 2"}'`,
    );

    const sum = await postExecute(curls[0]?.[1] ?? '', curls[0]?.[2] ?? '');
    expect(sum.map((event) => event.type)).toEqual(['session_init', 'final']);
    expect(finalOf(sum)).toMatchObject({ ok: true, result: 3 });

    const tools = await postExecute(curls[1]?.[1] ?? '', curls[1]?.[2] ?? '');
    expect(
      tools.filter((event) => event.type === 'tool_call').map((event) => event.payload.toolName),
    ).toEqual(['getCurrentTime', 'users:list']);
    expect(finalOf(tools)).toMatchObject({
      ok: true,
      result: [
        { id: '1', name: 'Alice' },
        { id: '2', name: 'Bob' },
      ],
    });

    expect(await script.stop('SIGINT')).toBe(0);
    expect(script.lines).toContain('Received SIGINT, stopping');
  });
});
