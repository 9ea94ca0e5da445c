import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Broker, createBroker } from '../src/index.js';
import { CURL_LINE, finalOf, postExecute, type RunningScript, startExample } from './example-helpers.js';
import { freePort } from './runtimes-test-helpers.js';

describe('the Quick Start of the overview', () => {
  let example: RunningScript | undefined;
  afterEach(async () => {
    await example?.stop();
    example = undefined;
  });

  it('runs as written: the tool is called and its time comes back', { timeout: 30_000 }, async () => {
    const printed: [string, unknown][] = [];
    const console = { log: (type: string, payload: unknown) => printed.push([type, payload]) };

    // --- the documented code, unchanged ---
    const broker = createBroker({
      securityLevel: 'SECURE',
    });

    // Register a tool
    broker.tool('getCurrentTime', {
      description: 'Get the current time',
      argsSchema: z.object({
        timezone: z.string().optional(),
      }),
      handler: async ({ timezone }) => {
        return new Date().toLocaleString('en-US', { timeZone: timezone });
      },
    });

    // Execute code with streaming
    const stream = broker.execute(`
  const time = await tools.getCurrentTime({ timezone: 'America/New_York' });
  console.log('Current time:', time);
  return time;
`);

    for await (const event of stream) {
      console.log(event.type, event.payload);
    }
    // --- end of the documented code ---
    await broker.close();

    expect(broker).toBeInstanceOf(Broker);
    const types = printed.map(([type]) => type);
    expect(types[0]).toBe('session_init');
    expect(types).toEqual(expect.arrayContaining(['tool_call', 'tool_result_applied', 'stdout']));
    expect(types.at(-1)).toBe('final');
    const final = printed.at(-1)?.[1] as { ok: boolean; result: string };
    expect(final.ok).toBe(true);
    expect(final.result).toMatch(/^\d{1,2}\/\d{1,2}\/\d{4}, \d{1,2}:\d{2}:\d{2}\s(AM|PM)$/);
    const stdout = printed.find(([type]) => type === 'stdout')?.[1] as { chunk: string };
    expect(stdout.chunk).toBe(`Current time: ${final.result}\n`);
  });

  it('as examples/quick-start: prints the stream, then serves the curl line it prints', {
    timeout: 30_000,
  }, async () => {
    const port = await freePort();
    example = startExample('quick-start', { PORT: String(port) });
    await example.waitForLine(/^final \{/);
    expect(
      example.lines.some((line) => line.startsWith('stdout { chunk: ') && line.includes('Current time:')),
    ).toBe(true);
    await example.waitForLine(new RegExp(`Broker listening on http://localhost:${port}$`));
    const [, url, body] = await example.waitForLine(CURL_LINE);
    const events = await postExecute(url ?? '', body ?? '');
    expect(events.map((event) => event.type)).toContain('tool_call');
    expect(finalOf(events)).toMatchObject({ ok: true, result: expect.stringMatching(/\d{1,2}:\d{2}:\d{2}/) });
    expect(await example.stop('SIGINT')).toBe(0);
  });
});
