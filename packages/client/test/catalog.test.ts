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
        kind: 'openapi',
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

describe('tool declarations through the client', () => {
  it('fetches the TypeScript declarations of every tool with their version', async () => {
    await using service = await startService(['ping']);
    await using server = await startBroker(
      { openApiSources: [{ name: 'demo', url: service.specUrl }] },
      (broker) =>
        broker.tools.register({
          name: 'getCurrentTime',
          description: 'Get the current time',
          parameters: { timezone: { type: 'string', description: 'IANA time zone' } },
          handler: async () => '12:00',
        }),
    );
    const client = server.client();
    const first = await client.getDeclarations();
    expect(first.declarations).toBe(server.broker.tools.getTypeDeclarations());
    expect(first.declarations).toContain('declare const tools: {');
    expect(first.declarations).toContain(
      '  /** The ping operation */\n  demo_ping(args?: Record<string, never>): Promise<unknown>;',
    );
    expect(first.declarations).toContain('  /** Get the current time */\n  getCurrentTime(args?: {');
    expect(first.version).toMatch(/^[0-9a-f]{64}$/);
    expect((await client.getDeclarations()).version).toBe(first.version);
    service.setOperations(['ping', 'pong']);
    await server.broker.catalog.refresh();
    const second = await client.getDeclarations();
    expect(second.version).not.toBe(first.version);
    expect(second.declarations).toContain('  demo_pong(args?: Record<string, never>): Promise<unknown>;');
  });
});
