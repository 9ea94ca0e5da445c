import { CatalogResponseSchema } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import { CatalogHandler } from '../src/catalog/catalog-handler.js';
import type { OpenApiSourceConfig } from '../src/catalog/open-api-source-config.js';
import { ToolRegistry } from '../src/tools/tool-registry.js';
import { documentWithOperations, readFixture, startOpenApiService } from './open-api-test-service.js';
import { asCode, typeCheck } from './type-check.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** A catalog over one source, closed by `await using`. */
function catalogOf(source: OpenApiSourceConfig, registry = new ToolRegistry()): CatalogHandler {
  return new CatalogHandler(registry, [source], { logger: silent });
}

/** The JSON Schema of an action's `body` argument. */
function bodySchemaOf(
  action: { inputSchema?: Record<string, unknown> } | undefined,
): Record<string, unknown> {
  const properties = action?.inputSchema?.properties as Record<string, Record<string, unknown>> | undefined;
  const body = properties?.body;
  if (body === undefined) throw new Error('the action takes no body');
  return body;
}

/** Whether a value holds a `$ref` anywhere. */
function holdsReference(value: unknown): boolean {
  return JSON.stringify(value).includes('"$ref"');
}

describe('catalog documents', () => {
  it('turns an OpenAPI 3.0 YAML document with $refs into actions with plain JSON Schema', async () => {
    await using service = await startOpenApiService();
    service.setSpec(readFixture('users-3.0.yaml'));
    await using catalog = catalogOf({ name: 'user-service', url: service.specUrl });
    await catalog.ready();
    const response = catalog.getCatalog();
    expect(CatalogResponseSchema.parse(response)).toEqual(response);
    expect(response.actions.map((action) => action.name)).toEqual([
      'user-service_listUsers',
      'user-service_createUser',
      'user-service_getUser',
      'user-service_deleteUser',
      'user-service_get_users_id_avatar',
    ]);
    const byName = new Map(response.actions.map((action) => [action.name, action]));
    expect(byName.get('user-service_listUsers')).toEqual({
      name: 'user-service_listUsers',
      description: 'List all users',
      service: 'user-service',
      tags: ['users'],
      deprecated: false,
      inputSchema: {
        type: 'object',
        properties: {
          limit: {
            type: 'integer',
            format: 'int32',
            minimum: 1,
            maximum: 100,
            description: 'Max users to return',
          },
          role: { type: 'string', enum: ['admin', 'member'] },
          'X-Request-Id': { type: 'string', description: "Correlates the call in the service's logs" },
        },
        additionalProperties: false,
      },
      outputSchema: {
        type: 'array',
        items: {
          allOf: [
            expect.objectContaining({ type: 'object', required: ['name', 'email'] }),
            { type: 'object', properties: { id: { type: 'string', readOnly: true } } },
          ],
        },
      },
    });
    const create = byName.get('user-service_createUser')?.inputSchema;
    expect(create).toMatchObject({
      required: ['body'],
      properties: {
        body: {
          type: 'object',
          required: ['name', 'email'],
          properties: { nickname: { type: ['string', 'null'] }, role: { enum: ['admin', 'member'] } },
        },
      },
    });
    expect(byName.get('user-service_getUser')?.inputSchema).toEqual({
      type: 'object',
      properties: { id: { type: 'string', description: "The user's id" } },
      required: ['id'],
      additionalProperties: false,
    });
    expect(byName.get('user-service_get_users_id_avatar')).toMatchObject({ deprecated: true });
    expect(holdsReference(response)).toBe(false);
    expect(response.services).toEqual([
      {
        name: 'user-service',
        specUrl: service.specUrl,
        lastUpdated: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        actionCount: 5,
        status: 'ok',
        kind: 'openapi',
      },
    ]);
  });

  it('describes what calls return: the JSON answer with its readOnly fields, text as a string, a 204 as null', async () => {
    await using service = await startOpenApiService();
    service.setSpec(readFixture('users-3.0.yaml'));
    const registry = new ToolRegistry();
    await using catalog = catalogOf({ name: 'user-service', url: service.specUrl }, registry);
    await catalog.ready();
    const byName = new Map(catalog.getCatalog().actions.map((action) => [action.name, action]));
    expect(byName.get('user-service_deleteUser')?.outputSchema).toEqual({ type: 'null' });
    expect(byName.get('user-service_get_users_id_avatar')?.outputSchema).toEqual({ type: 'string' });
    const declarations = registry.getTypeDeclarations();
    expect(declarations).toContain('  "user-service_deleteUser"(args: {');
    const code = asCode(`
      const user = await tools['user-service_getUser']({ id: '1' });
      const name: string = user.name;
      const id: string | undefined = user.id;
      const users = await tools['user-service_listUsers']({ limit: 5, role: 'member' });
      const emails: string[] = users.map((each) => each.email);
      const created = await tools['user-service_createUser']({ body: { name: 'Dee', email: 'dee@example.com' } });
      const gone: null = await tools['user-service_deleteUser']({ id: created.id ?? '' });
      const avatar: string = await tools['user-service_get_users_id_avatar']({ id: '1' });
      return [name, id, emails, gone, avatar];
    `);
    expect(typeCheck({ 'tools.d.ts': declarations, 'code.ts': code })).toEqual([]);
    // The body is a NewUser, which has no id (additionalProperties: false): a type error, as it is a validation error.
    const withId = asCode(
      "await tools['user-service_createUser']({ body: { id: '7', name: 'Dee', email: 'dee@example.com' } });",
    );
    expect(typeCheck({ 'tools.d.ts': declarations, 'code.ts': withId })).toEqual([
      expect.stringMatching(
        /^code\.ts\(2\): Object literal may only specify known properties, and 'id' does not exist/,
      ),
    ]);
  });

  it('reads OpenAPI 3.1: type lists, const, prefixItems, numeric exclusive bounds and server variables', async () => {
    await using service = await startOpenApiService();
    service.setSpec(readFixture('inventory-3.1.json'));
    const registry = new ToolRegistry();
    await using catalog = catalogOf({ name: 'inventory', url: service.specUrl }, registry);
    await catalog.ready();
    const actions = catalog.getCatalog().actions;
    expect(actions.map((action) => action.name)).toEqual(['inventory_searchItems', 'inventory_putItem']);
    const put = bodySchemaOf(actions[1]);
    expect(put).toMatchObject({
      properties: {
        quantity: { type: 'integer', minimum: 0, exclusiveMaximum: 1_000_000 },
        kind: { const: 'item' },
        dimensions: { prefixItems: [{ type: 'number' }, { type: 'number' }], items: false },
      },
    });
    expect(
      registry.validateArguments('inventory_putItem', { sku: 'BOL-1', body: { name: 'bolt', quantity: 3 } }),
    ).toMatchObject({ success: true });
    expect(
      registry.validateArguments('inventory_putItem', {
        sku: 'bolt',
        body: { name: 'bolt', quantity: 1_000_000 },
      }),
    ).toMatchObject({
      success: false,
      message: expect.stringMatching(/sku: must match pattern.*body\.quantity: must be </),
    });
    expect(registry.validateArguments('inventory_searchItems', { note: null })).toMatchObject({
      success: true,
    });
  });

  it('turns circular schemas into finite schemas that still check the levels they describe', async () => {
    await using service = await startOpenApiService();
    service.setSpec(readFixture('tree-circular.json'));
    const registry = new ToolRegistry();
    await using catalog = catalogOf({ name: 'trees', url: service.specUrl }, registry);
    await catalog.ready();
    const response = catalog.getCatalog();
    expect(response.actions.map((action) => action.name)).toEqual(['trees_createNode', 'trees_createPerson']);
    // Plain JSON: no cycle, no $ref.
    expect(holdsReference(response)).toBe(false);
    const node = bodySchemaOf(response.actions[0]);
    expect(node).toMatchObject({
      type: 'object',
      required: ['label'],
      properties: {
        label: { type: 'string' },
        children: { type: 'array', items: { type: 'object', description: 'Node (recursive, not expanded)' } },
        parent: {
          anyOf: [
            { allOf: [{ type: 'object', description: 'Node (recursive, not expanded)' }] },
            { type: 'null' },
          ],
        },
      },
    });
    expect(
      registry.validateArguments('trees_createNode', { body: { label: 'root', children: [{ label: 'a' }] } }),
    ).toMatchObject({ success: true });
    expect(registry.validateArguments('trees_createNode', { body: { children: [] } })).toMatchObject({
      success: false,
      message: 'body.label: required argument is missing',
    });
    const person = bodySchemaOf(response.actions[1]);
    expect(person).toMatchObject({
      properties: {
        employer: {
          properties: { ceo: { type: 'object', description: 'Person (recursive, not expanded)' } },
        },
      },
    });
  });

  it('reads Swagger 2.0: host from the document URL, basePath, body parameter and collectionFormat', async () => {
    await using service = await startOpenApiService();
    service.setSpec(readFixture('pets-swagger-2.0.json'));
    const registry = new ToolRegistry();
    await using catalog = catalogOf({ name: 'pets', url: service.specUrl }, registry);
    await catalog.ready();
    expect(catalog.getCatalog().actions.map((action) => action.name)).toEqual([
      'pets_listPets',
      'pets_addPet',
    ]);
    service.route('GET', '/v1/pets', (request) => ({ body: { url: request.url } }));
    const result = await registry.call(
      'pets_listPets',
      { limit: 2, species: ['cat', 'dog'] },
      {
        sessionId: '',
        callId: '',
        toolName: 'pets_listPets',
        context: {},
        signal: new AbortController().signal,
      },
    );
    expect(result).toEqual({ url: '/v1/pets?limit=2&species=cat&species=dog' });
  });

  it('builds a catalog of 1,000 operations', async () => {
    await using service = await startOpenApiService();
    service.setSpec(documentWithOperations(1000));
    const registry = new ToolRegistry();
    await using catalog = catalogOf({ name: 'big', url: service.specUrl }, registry);
    await catalog.ready();
    const response = catalog.getCatalog();
    expect(response.actions).toHaveLength(1000);
    expect(response.services[0]?.actionCount).toBe(1000);
    expect(registry.size).toBe(1000);
    expect(registry.has('big_op999')).toBe(true);
    expect(holdsReference(response)).toBe(false);
  });

  it('names operations without an operationId by method and path, and resolves collisions in a fixed order', async () => {
    await using service = await startOpenApiService();
    const document = {
      openapi: '3.0.3',
      info: { title: 'names', version: '1' },
      paths: {
        '/b': { get: { operationId: 'same', responses: { 200: { description: 'ok' } } } },
        '/a': {
          get: { operationId: 'same', responses: { 200: { description: 'ok' } } },
          post: { operationId: 'with spaces/and:colons', responses: { 200: { description: 'ok' } } },
        },
        '/users/{id}/posts': { get: { responses: { 200: { description: 'ok' } } } },
      },
    };
    service.setSpec(document);
    await using catalog = catalogOf({ name: 'names', url: service.specUrl });
    await catalog.ready();
    expect(catalog.getCatalog().actions.map((action) => action.name)).toEqual([
      'names_same',
      'names_with_spaces_and_colons',
      'names_same_2',
      'names_get_users_id_posts',
    ]);
    // The document's order does not matter.
    const reordered = { ...document, paths: Object.fromEntries(Object.entries(document.paths).reverse()) };
    await using other = await startOpenApiService();
    other.setSpec(reordered);
    await using second = catalogOf({ name: 'names', url: other.specUrl });
    await second.ready();
    expect(second.getCatalog().version).toBe(catalog.getCatalog().version);
    expect(second.getCatalog().actions.map((action) => action.name)).toEqual(
      catalog.getCatalog().actions.map((action) => action.name),
    );
  });

  it('keeps only the operations include selects and exclude does not drop', async () => {
    await using service = await startOpenApiService();
    service.setSpec(readFixture('users-3.0.yaml'));
    await using catalog = catalogOf({
      name: 'user-service',
      url: service.specUrl,
      include: ['tag:users'],
      exclude: ['DELETE /users/*', 'createUser'],
    });
    await catalog.ready();
    expect(catalog.getCatalog().actions.map((action) => action.name)).toEqual([
      'user-service_listUsers',
      'user-service_getUser',
    ]);
    await using byFunction = catalogOf({
      name: 'user-service',
      url: service.specUrl,
      include: (operation) => operation.method === 'GET' && !operation.deprecated,
    });
    await byFunction.ready();
    expect(byFunction.getCatalog().actions.map((action) => action.name)).toEqual([
      'user-service_listUsers',
      'user-service_getUser',
    ]);
  });

  it.each([
    ['text that is neither JSON nor YAML', '{ "openapi": ', /neither JSON nor YAML/],
    [
      'a document that is not OpenAPI',
      { hello: 'world' },
      /neither OpenAPI 3\.0, OpenAPI 3\.1 nor Swagger 2\.0/,
    ],
    [
      'a document that breaks the OpenAPI schema',
      { openapi: '3.0.3', info: { title: 'x' }, paths: {} },
      /must have required property 'version'/,
    ],
    [
      'a $ref to a file',
      {
        openapi: '3.0.3',
        info: { title: 'x', version: '1' },
        paths: {
          '/x': { get: { parameters: [{ $ref: '/etc/passwd' }], responses: { 200: { description: 'ok' } } } },
        },
      },
      /cannot be used/,
    ],
    [
      'a YAML alias cycle',
      'openapi: 3.0.3\ninfo: &a\n  title: x\n  version: "1"\n  self: *a\npaths: {}\n',
      /cannot be used/,
    ],
  ])('lists a source serving %s with OPENAPI_INVALID and no actions', async (_label, document, message) => {
    await using service = await startOpenApiService();
    service.setSpec(document as string | object);
    await using catalog = catalogOf({ name: 'broken', url: service.specUrl });
    await catalog.ready();
    const response = catalog.getCatalog();
    expect(response.actions).toEqual([]);
    expect(response.services[0]).toMatchObject({
      name: 'broken',
      status: 'unavailable',
      lastUpdated: '',
      actionCount: 0,
      error: { code: 'OPENAPI_INVALID', message: expect.stringMatching(message) },
    });
  });
});
