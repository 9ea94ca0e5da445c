import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startBroker } from './test-broker.js';

/** A service with an OpenAPI document whose operations are `operations` (each `GET /<name>` answering its name). */
async function startService(operations: string[]) {
  let current = operations;
  const server = createServer((request, response) => {
    if (request.url === '/openapi.json') {
      const paths = Object.fromEntries(
        current.map((name) => [
          `/${name}`,
          {
            get: {
              operationId: name,
              summary: `The ${name} operation`,
              responses: { 200: { description: 'ok' } },
            },
          },
        ]),
      );
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ openapi: '3.1.0', info: { title: 'demo', version: '1' }, paths }));
      return;
    }
    response
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify(request.url?.slice(1)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    specUrl: `http://127.0.0.1:${port}/openapi.json`,
    setOperations(next: string[]) {
      current = next;
    },
    [Symbol.asyncDispose]: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('the action catalog through the client', () => {
  it('lists the actions with their schemas and services, and delivers catalog_changed to a running session', async () => {
    await using service = await startService(['ping']);
    await using server = await startBroker({ openApiSources: [{ name: 'demo', url: service.specUrl }] });
    const client = server.client();
    const catalog = await client.listActions();
    expect(catalog.actions).toEqual([
      {
        name: 'demo_ping',
        description: 'The ping operation',
        service: 'demo',
        tags: [],
        deprecated: false,
        inputSchema: { type: 'object', properties: {}, additionalProperties: false },
      },
    ]);
    expect(catalog.services).toEqual([
      {
        name: 'demo',
        specUrl: service.specUrl,
        lastUpdated: expect.any(String),
        actionCount: 1,
        status: 'ok',
      },
    ]);

    const session = client.execute(
      'const before = await tools.demo_ping(); await tools.changeTheCatalog({}); return [before, await tools.demo_pong()];',
      {
        tools: {
          changeTheCatalog: async () => {
            service.setOperations(['ping', 'pong']);
            await server.broker.catalog.refresh();
            return null;
          },
        },
      },
    );
    const outcome = await session.result;
    expect(outcome).toMatchObject({ ok: true, result: ['ping', 'pong'] });
    const changed = session.events.find((event) => event.type === 'catalog_changed');
    const after = await client.listActions();
    expect(changed?.payload).toEqual({
      version: after.version,
      addedActions: ['demo_pong'],
      removedActions: [],
      updatedActions: [],
    });
    expect(after.version).not.toBe(catalog.version);
    expect(after.actions.map((action) => action.name)).toEqual(['demo_ping', 'demo_pong']);
  });
});
