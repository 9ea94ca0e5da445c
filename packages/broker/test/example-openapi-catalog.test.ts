import { CatalogResponseSchema } from '@enclave-vm/types';
import { afterEach, describe, expect, it } from 'vitest';
import { CURL_LINE, finalOf, postExecute, type RunningScript, startExample } from './example-helpers.js';
import { freePort } from './runtimes-test-helpers.js';

describe('examples/openapi-catalog', () => {
  let example: RunningScript | undefined;
  afterEach(async () => {
    await example?.stop();
    example = undefined;
  });

  it('lists the actions, calls them from code, then serves the catalog and the curl line it prints', {
    timeout: 30_000,
  }, async () => {
    const port = await freePort();
    example = startExample('openapi-catalog', { PORT: String(port) });
    await example.waitForLine(/^action user-service_getUser: Get user by ID /);
    await example.waitForLine(/^members: Brian, Cleo$/);
    await example.waitForLine(/^getUser 42: UPSTREAM_CLIENT_ERROR 404$/);
    await example.waitForLine(/^listUsers limit 0: TOOL_VALIDATION_ERROR$/);
    await example.waitForLine(/^final \{"id":"1","name":"Ada","role":"admin"\}$/);
    await example.waitForLine(new RegExp(`Try: curl http://localhost:${port}/code/actions$`));
    const catalog = CatalogResponseSchema.parse(
      await (await fetch(`http://localhost:${port}/code/actions`)).json(),
    );
    expect(catalog.actions.map((action) => action.name)).toEqual([
      'user-service_listUsers',
      'user-service_getUser',
    ]);
    expect(JSON.stringify(catalog)).not.toContain('demo-token');
    const [, url, body] = await example.waitForLine(CURL_LINE);
    const events = await postExecute(url ?? '', body ?? '');
    expect(finalOf(events)).toMatchObject({ ok: true, result: [{ name: 'Ada' }, { name: 'Brian' }] });
    expect(await example.stop('SIGINT')).toBe(0);
  });
});
