import { DeclarationsResponseSchema } from '@enclave-vm/types';
import { afterEach, describe, expect, it } from 'vitest';
import { CURL_LINE, finalOf, postExecute, type RunningScript, startExample } from './example-helpers.js';
import { freePort } from './runtimes-test-helpers.js';
import { asCode, typeCheck } from './type-check.js';

describe('examples/mcp-servers', () => {
  let example: RunningScript | undefined;
  afterEach(async () => {
    await example?.stop();
    example = undefined;
  });

  it('lists the MCP tools and their declarations, calls them from code, then serves them', {
    timeout: 30_000,
  }, async () => {
    const port = await freePort();
    example = startExample('mcp-servers', { PORT: String(port) });
    await example.waitForLine(/^action notes_add_note: Adds a note and answers its id$/);
    await example.waitForLine(/^ {2}notes_add_note\(args: \{$/);
    await example.waitForLine(/^added: 2 of 2$/);
    await example.waitForLine(/^found: #2 Call the plumber$/);
    await example.waitForLine(/^delete 99: TOOL_ERROR No note #99$/);
    await example.waitForLine(/^empty note: TOOL_VALIDATION_ERROR$/);
    await example.waitForLine(/^final "Deleted #2"$/);
    await example.waitForLine(new RegExp(`Try: curl http://localhost:${port}/code/declarations$`));
    const { declarations } = DeclarationsResponseSchema.parse(
      await (
        await fetch(`http://localhost:${port}/code/declarations`, { headers: { accept: 'application/json' } })
      ).json(),
    );
    const code = asCode(`
      const added = await tools.notes_add_note({ text: 'Water the plants' });
      const id: number = added.id;
      return await tools.notes_delete_note({ id });
    `);
    expect(typeCheck({ 'tools.d.ts': declarations, 'code.ts': code })).toEqual([]);
    const [, url, body] = await example.waitForLine(CURL_LINE);
    const events = await postExecute(url ?? '', body ?? '');
    expect(finalOf(events)).toMatchObject({ ok: true, result: '#1 Buy milk' });
    expect(await example.stop('SIGINT')).toBe(0);
  });
});
