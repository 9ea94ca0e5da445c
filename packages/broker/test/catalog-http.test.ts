import { CatalogResponseSchema, type StreamEvent } from '@enclave-vm/types';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { CatalogHandler, type OpenApiSourceConfig, ToolRegistry } from '../src/index.js';
import { recordingLogger } from './catalog-helpers.js';
import { runEncrypted } from './encryption-helpers.js';
import { EventReader, postJson, startTestBroker } from './http-test-helpers.js';
import { readFixture, startOpenApiService } from './open-api-test-service.js';

describe('GET /code/actions', () => {
  it('serves the catalog of the broker, without the source headers', async () => {
    await using service = await startOpenApiService();
    service.setSpec(readFixture('users-3.0.yaml'));
    await using broker = await startTestBroker({
      openApiSources: [
        { name: 'user-service', url: service.specUrl, headers: { authorization: 'Bearer hidden-42' } },
      ],
    });
    const response = await fetch(`${broker.url}/code/actions`);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).not.toContain('hidden-42');
    const catalog = CatalogResponseSchema.parse(JSON.parse(text));
    expect(catalog.actions.map((action) => action.name)).toContain('user-service_listUsers');
    expect(catalog.services).toMatchObject([{ name: 'user-service', actionCount: 5, status: 'ok' }]);
    expect(catalog.version).toBe(broker.broker.catalog.getCatalog().version);
  });

  it('sends catalog_changed on the NDJSON stream of a running session', async () => {
    await using service = await startOpenApiService();
    service.setSpec({
      openapi: '3.0.3',
      info: { title: 'clock', version: '1' },
      paths: { '/now': { get: { operationId: 'now', responses: { 200: { description: 'ok' } } } } },
    });
    await using broker = await startTestBroker({ openApiSources: [{ name: 'clock', url: service.specUrl }] });
    const started = await postJson(`${broker.url}/execute`, { code: 'return await tools.waitHere({})' });
    const reader = new EventReader(started);
    let event: StreamEvent = await reader.next();
    while (event.type !== 'tool_call') event = await reader.next();
    service.setSpec({
      openapi: '3.0.3',
      info: { title: 'clock', version: '2' },
      paths: {},
    });
    await broker.broker.catalog.refresh();
    const changed = await reader.next();
    expect(changed).toMatchObject({
      type: 'catalog_changed',
      seq: event.seq + 1,
      payload: {
        addedActions: [],
        removedActions: ['clock_now'],
        version: broker.broker.catalog.getCatalog().version,
      },
    });
    await broker.broker.cancelSession(event.sessionId);
  });
});

describe('catalog_changed in an encrypted session', () => {
  it('arrives sealed like every other event, and opens to the change', async () => {
    await using service = await startOpenApiService();
    const clock = (operations: string[]) => ({
      openapi: '3.0.3',
      info: { title: 'clock', version: '1' },
      paths: Object.fromEntries(
        operations.map((name) => [
          `/${name}`,
          { get: { operationId: name, responses: { 200: { description: 'ok' } } } },
        ]),
      ),
    });
    service.setSpec(clock(['now']));
    await using broker = await startTestBroker({ openApiSources: [{ name: 'clock', url: service.specUrl }] });
    broker.broker.tools.register({
      name: 'changeTheCatalog',
      description: 'Adds an operation to the clock service and polls it',
      parameters: {},
      handler: async () => {
        service.setSpec(clock(['now', 'secretLater']));
        await broker.broker.catalog.refresh();
        return 'changed';
      },
    });
    const session = await runEncrypted(broker.url, { code: 'return await tools.changeTheCatalog({})' });
    expect(session.text).not.toContain('secretLater');
    expect(session.wire.filter((event) => event.type === 'catalog_changed')).toEqual([]);
    const changed = session.events.find((event) => event.type === 'catalog_changed');
    expect(changed?.payload).toEqual({
      version: broker.broker.catalog.getCatalog().version,
      addedActions: ['clock_secretLater'],
      removedActions: [],
      updatedActions: [],
    });
  });
});

describe('the documented wiring of CatalogHandler on a plain fastify app', () => {
  it('serves GET /code/actions from the routes it mounts, and registers the tools', async () => {
    await using service = await startOpenApiService();
    service.setSpec(readFixture('users-3.0.yaml'));
    const toolRegistry = new ToolRegistry();
    const openApiSources: OpenApiSourceConfig[] = [{ name: 'user-service', url: service.specUrl }];
    const app = Fastify();

    // As the broker API document writes it.
    const catalog = new CatalogHandler(toolRegistry, openApiSources, { logger: recordingLogger() });
    for (const route of catalog.getRoutes()) {
      app[route.method.toLowerCase() as 'get'](route.path, route.handler);
    }

    try {
      const address = await app.listen({ port: 0, host: '127.0.0.1' });
      const response = await fetch(`${address}/code/actions`);
      expect(response.status).toBe(200);
      const body = CatalogResponseSchema.parse(await response.json());
      expect(body.actions.map((action) => action.name)).toEqual([
        'user-service_listUsers',
        'user-service_createUser',
        'user-service_getUser',
        'user-service_deleteUser',
        'user-service_get_users_id_avatar',
      ]);
      expect(body.services[0]).toMatchObject({
        name: 'user-service',
        specUrl: service.specUrl,
        actionCount: 5,
      });
      expect(toolRegistry.has('user-service_getUser')).toBe(true);
    } finally {
      await catalog.close();
      await app.close();
    }
  });

  it('refuses an invalid source configuration with CONFIGURATION_ERROR', () => {
    const registry = new ToolRegistry();
    const cases: [unknown, RegExp][] = [
      [[{ name: 'bad name', url: 'http://x' }], /name must be 1 to 64 letters/],
      [[{ name: 'a', url: 'ftp://x' }], /url must be an http\(s\) URL/],
      [[{ name: 'a', url: 'http://x', pollInterval: 5 }], /pollInterval must be an integer ≥ 100/],
      [
        [{ name: 'a', url: 'http://x', headers: { authorization: 'a\nb' } }],
        /value of authorization must be a string/,
      ],
      [[{ name: 'a', url: 'http://x', allowedOrigins: ['http://y/path'] }], /bare origins/],
      [[{ name: 'a', url: 'http://x', polInterval: 5 }], /unknown option polInterval/],
      [
        [
          { name: 'a', url: 'http://x' },
          { name: 'a', url: 'http://y' },
        ],
        /Two OpenAPI sources are named "a"/,
      ],
      [
        [{ name: 'a', url: 'http://x', include: 'users' }],
        /include must be an array of patterns or a function/,
      ],
    ];
    for (const [sources, message] of cases) {
      expect(() => new CatalogHandler(registry, sources as OpenApiSourceConfig[])).toThrow(message);
    }
  });
});
