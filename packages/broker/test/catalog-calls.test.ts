import { describe, expect, it } from 'vitest';
import { collect, eventOf, readUntil, testBroker } from './broker-helpers.js';
import { callFromCode, recordingLogger, waitUntil } from './catalog-helpers.js';
import { readFixture, startOpenApiService } from './open-api-test-service.js';

const SECRET = 'Bearer s3cr3t-token-never-shown';

async function usersService() {
  const service = await startOpenApiService();
  service.setSpec(readFixture('users-3.0.yaml'));
  const users = [
    { id: '1', name: 'Ada', email: 'ada@example.com', role: 'admin' },
    { id: '2', name: 'Brian', email: 'brian@example.com', role: 'member' },
    { id: '3', name: 'Cleo', email: 'cleo@example.com', role: 'member' },
  ];
  service.route('GET', '/api/users', (request) => {
    const query = new URL(request.url, 'http://x').searchParams;
    const role = query.get('role');
    const selected = users.filter((user) => role === null || user.role === role);
    return {
      body: selected.slice(0, Number(query.get('limit') ?? 10)),
      headers: { 'x-request-id': String(request.headers['x-request-id'] ?? '') },
    };
  });
  service.route('POST', '/api/users', (request) => ({
    status: 201,
    body: { id: '4', ...JSON.parse(request.body) },
  }));
  service.route('GET', '/api/users/1', () => ({ body: users[0] }));
  service.route('DELETE', '/api/users/1', () => ({ status: 204 }));
  service.route('GET', '/api/users/1/avatar', () => ({ body: '(o_o)' }));
  return service;
}

describe('catalog actions called from code', () => {
  it('calls operations as tools: by bracket, by callTool, with JSON, text and empty answers', async () => {
    await using service = await usersService();
    const broker = testBroker({ openApiSources: [{ name: 'user-service', url: service.specUrl }] });
    const list = await callFromCode(broker, `tools['user-service_listUsers']({ limit: 2 })`);
    expect(list.outcome).toEqual({
      ok: true,
      value: [
        { id: '1', name: 'Ada', email: 'ada@example.com', role: 'admin' },
        { id: '2', name: 'Brian', email: 'brian@example.com', role: 'member' },
      ],
    });
    expect(eventOf(list.events, 'tool_call').payload).toMatchObject({
      toolName: 'user-service_listUsers',
      answeredBy: 'broker',
    });
    const members = await callFromCode(
      broker,
      `callTool('user-service_listUsers', { role: 'member', limit: 1 })`,
    );
    expect(members.outcome).toMatchObject({ ok: true, value: [{ name: 'Brian' }] });
    expect(service.calls.at(-1)?.url).toBe('/api/users?limit=1&role=member');
    const created = await callFromCode(
      broker,
      `tools['user-service_createUser']({ body: { name: 'Dee', email: 'dee@example.com', nickname: null } })`,
    );
    expect(created.outcome).toEqual({
      ok: true,
      value: { id: '4', name: 'Dee', email: 'dee@example.com', nickname: null },
    });
    expect(service.calls.at(-1)?.headers['content-type']).toBe('application/json');
    expect((await callFromCode(broker, `tools['user-service_getUser']({ id: '1' })`)).outcome).toMatchObject({
      ok: true,
      value: { name: 'Ada' },
    });
    expect((await callFromCode(broker, `tools['user-service_deleteUser']({ id: '1' })`)).outcome).toEqual({
      ok: true,
      value: null,
    });
    expect(
      (await callFromCode(broker, `tools['user-service_get_users_id_avatar']({ id: '1' })`)).outcome,
    ).toEqual({
      ok: true,
      value: '(o_o)',
    });
  });

  it('lists the actions in the registry and in the documentation for prompts', async () => {
    await using service = await usersService();
    const broker = testBroker({ openApiSources: [{ name: 'user-service', url: service.specUrl }] });
    await broker.catalog.ready();
    expect(broker.tools.get('user-service_listUsers')).toMatchObject({
      name: 'user-service_listUsers',
      description: 'List all users',
      parameters: { limit: { type: 'number', description: 'Max users to return' } },
    });
    expect(broker.tools.list().map((tool) => tool.name)).toContain('user-service_createUser');
    const documentation = broker.tools.getDocumentation();
    expect(documentation).toContain('## user-service_listUsers');
    expect(documentation).toContain(
      `Call: \`await callTool('user-service_listUsers', { limit, role, "X-Request-Id": … })\``,
    );
    expect(documentation).toContain('- limit (integer, optional) — Max users to return');
    expect(broker.tools.getInputSchema('user-service_getUser')).toMatchObject({ required: ['id'] });
  });

  it('calls an identifier-named action as tools.name', async () => {
    await using service = await startOpenApiService();
    service.setSpec({
      openapi: '3.1.0',
      info: { title: 'clock', version: '1' },
      paths: { '/now': { get: { operationId: 'now', responses: { 200: { description: 'ok' } } } } },
    });
    service.route('GET', '/now', () => ({ body: { iso: '2026-01-01T00:00:00Z' } }));
    const broker = testBroker({ openApiSources: [{ name: 'clock', url: service.specUrl }] });
    expect((await callFromCode(broker, 'tools.clock_now()')).outcome).toEqual({
      ok: true,
      value: { iso: '2026-01-01T00:00:00Z' },
    });
  });

  it('rejects bad arguments inside the code with TOOL_VALIDATION_ERROR and sends nothing', async () => {
    await using service = await usersService();
    const broker = testBroker({ openApiSources: [{ name: 'user-service', url: service.specUrl }] });
    const cases = [
      [`tools['user-service_listUsers']({ limit: 0 })`, 'limit: must be >= 1'],
      [`tools['user-service_listUsers']({ limit: '5' })`, 'limit: must be integer'],
      [
        `tools['user-service_listUsers']({ role: 'owner' })`,
        'role: must be equal to one of the allowed values',
      ],
      [`tools['user-service_listUsers']({ page: 2 })`, 'page: unknown argument'],
      [`tools['user-service_getUser']({})`, 'id: required argument is missing'],
      [`tools['user-service_getUser']({ id: '..' })`, 'id: must not be "." or ".."'],
      [
        `tools['user-service_createUser']({ body: { name: 'x', email: 'not an email' } })`,
        'body.email: must match format "email"',
      ],
      [
        `tools['user-service_createUser']({ body: { name: 'x', email: 'x@example.com', extra: 1 } })`,
        'body.extra: unknown property',
      ],
    ] as const;
    for (const [expression, message] of cases) {
      const { outcome } = await callFromCode(broker, expression);
      expect(outcome).toMatchObject({ ok: false, code: 'TOOL_VALIDATION_ERROR' });
      expect((outcome as { message: string }).message).toContain(message);
    }
    expect(service.calls).toEqual([]);
  });

  it('sends the source headers with the document fetch and every call, and never shows them', async () => {
    await using service = await usersService();
    const logger = recordingLogger();
    const broker = testBroker({
      logger,
      openApiSources: [
        {
          name: 'user-service',
          url: service.specUrl,
          headers: { Authorization: SECRET, 'X-Api-Key': 'key-123' },
        },
      ],
    });
    const changes: unknown[] = [];
    broker.on('catalog:changed', (change) => changes.push(change));
    const { events } = await callFromCode(
      broker,
      `tools['user-service_listUsers']({ 'X-Request-Id': 'req-9' })`,
    );
    expect(service.specRequests[0]?.headers.authorization).toBe(SECRET);
    expect(service.specRequests[0]?.headers['x-api-key']).toBe('key-123');
    expect(service.calls[0]?.headers.authorization).toBe(SECRET);
    expect(service.calls[0]?.headers['x-api-key']).toBe('key-123');
    expect(service.calls[0]?.headers['x-request-id']).toBe('req-9');
    // A failing poll logs its error: still without the headers.
    service.failSpec(500);
    await broker.catalog.refresh();
    const seen = JSON.stringify([
      broker.catalog.getCatalog(),
      events,
      changes,
      logger.lines,
      broker.tools.getDocumentation(),
    ]);
    expect(logger.lines.some((line) => line.includes('could not be polled'))).toBe(true);
    expect(seen).not.toContain('s3cr3t');
    expect(seen).not.toContain('key-123');
  });

  it('does not offer a header parameter that a source header already sets', async () => {
    await using service = await usersService();
    const broker = testBroker({
      openApiSources: [{ name: 'user-service', url: service.specUrl, headers: { 'x-request-id': 'fixed' } }],
    });
    await broker.catalog.ready();
    expect(Object.keys(broker.tools.getInputSchema('user-service_listUsers')?.properties as object)).toEqual([
      'limit',
      'role',
    ]);
  });

  it('throws upstream 4xx and 5xx inside the code with their status; the session goes on', async () => {
    await using service = await usersService();
    service.route('GET', '/api/users/9', () => ({ status: 404, body: { message: 'No user 9' } }));
    service.route('GET', '/api/users/500', () => ({
      status: 503,
      body: 'try later',
      headers: { 'retry-after': '5' },
    }));
    const broker = testBroker({ openApiSources: [{ name: 'user-service', url: service.specUrl }] });
    const events = await collect(
      broker.execute(`
        const seen = [];
        for (const id of ['9', '500', '1']) {
          try {
            const user = await tools['user-service_getUser']({ id });
            seen.push(user.name);
          } catch (error) {
            seen.push([error.code, error.details.status, error.message, error.details.body]);
          }
        }
        return seen;
      `),
    );
    expect(eventOf(events, 'final').payload).toMatchObject({
      ok: true,
      result: [
        [
          'UPSTREAM_CLIENT_ERROR',
          404,
          'user-service_getUser: GET /api/users/9 answered 404 Not Found: {"message":"No user 9"}',
          { message: 'No user 9' },
        ],
        [
          'UPSTREAM_UNAVAILABLE',
          503,
          'user-service_getUser: GET /api/users/500 answered 503 Service Unavailable: try later',
          'try later',
        ],
        'Ada',
      ],
    });
  });

  it("ends a call that passes the source's timeout with TOOL_TIMEOUT and closes the request", async () => {
    await using service = await usersService();
    service.route('GET', '/api/users/slow', () => 'hold');
    const broker = testBroker({
      openApiSources: [{ name: 'user-service', url: service.specUrl, timeout: 300 }],
    });
    const { outcome } = await callFromCode(broker, `tools['user-service_getUser']({ id: 'slow' })`);
    expect(outcome).toMatchObject({
      ok: false,
      code: 'TOOL_TIMEOUT',
      message: 'user-service_getUser: GET /api/users/slow got no answer within 300 ms',
    });
    await waitUntil(() => service.aborted.length === 1, 'the service sees the request closed');
  });

  it('aborts the request when the tool timeout of the session passes', async () => {
    await using service = await usersService();
    service.route('GET', '/api/users/slow', () => 'hold');
    const broker = testBroker({
      limits: { toolTimeout: 300 },
      openApiSources: [{ name: 'user-service', url: service.specUrl }],
    });
    const { outcome } = await callFromCode(broker, `tools['user-service_getUser']({ id: 'slow' })`);
    expect(outcome).toMatchObject({ ok: false, code: 'TOOL_TIMEOUT' });
    await waitUntil(() => service.aborted.length === 1, 'the service sees the request closed');
  });

  it('aborts the request when the session is cancelled', async () => {
    await using service = await usersService();
    service.route('GET', '/api/users/slow', () => 'hold');
    const broker = testBroker({ openApiSources: [{ name: 'user-service', url: service.specUrl }] });
    const iterator = broker
      .execute(`return await tools['user-service_getUser']({ id: 'slow' })`)
      [Symbol.asyncIterator]();
    const read = await readUntil(iterator, (event) => event.type === 'tool_call');
    await waitUntil(() => service.calls.length === 1, 'the call reaches the service');
    await broker.cancelSession(read[0]?.sessionId as string);
    await waitUntil(() => service.aborted.length === 1, 'the service sees the request closed');
  });

  it('refuses a document whose servers point at another origin, unless allowedOrigins lists it', async () => {
    await using service = await startOpenApiService();
    await using other = await startOpenApiService();
    other.route('GET', '/v1/ping', () => ({ body: 'pong from the other origin' }));
    service.setSpec({
      openapi: '3.0.3',
      info: { title: 'elsewhere', version: '1' },
      servers: [{ url: `${other.origin}/v1` }],
      paths: { '/ping': { get: { operationId: 'ping', responses: { 200: { description: 'ok' } } } } },
    });
    const refused = testBroker({
      logger: recordingLogger(),
      openApiSources: [{ name: 'elsewhere', url: service.specUrl, headers: { authorization: SECRET } }],
    });
    await refused.catalog.ready();
    expect(refused.catalog.getCatalog()).toMatchObject({
      actions: [],
      services: [
        {
          name: 'elsewhere',
          status: 'unavailable',
          error: {
            code: 'OPENAPI_INVALID',
            message: `The OpenAPI document of elsewhere sends GET /ping to ${other.origin}, which is not an origin of this service; set baseUrl, or list the origin in allowedOrigins`,
          },
        },
      ],
    });
    expect(refused.tools.has('elsewhere_ping')).toBe(false);
    const allowed = testBroker({
      openApiSources: [{ name: 'elsewhere', url: service.specUrl, allowedOrigins: [other.origin] }],
    });
    expect((await callFromCode(allowed, 'tools.elsewhere_ping()')).outcome).toEqual({
      ok: true,
      value: 'pong from the other origin',
    });
    // baseUrl overrides the document's servers.
    service.route('GET', '/mine/ping', () => ({ body: 'pong from the service' }));
    const based = testBroker({
      openApiSources: [{ name: 'elsewhere', url: service.specUrl, baseUrl: `${service.origin}/mine` }],
    });
    expect((await callFromCode(based, 'tools.elsewhere_ping()')).outcome).toEqual({
      ok: true,
      value: 'pong from the service',
    });
    expect(other.calls).toHaveLength(1);
    expect(other.calls[0]?.headers.authorization).toBeUndefined();
  });

  it('follows redirects within the service and refuses one to another origin before sending anything there', async () => {
    await using service = await usersService();
    await using other = await startOpenApiService();
    service.route('GET', '/api/users/moved', () => ({ status: 307, headers: { location: '/api/users/1' } }));
    service.route('GET', '/api/users/away', () => ({
      status: 302,
      headers: { location: `${other.origin}/steal` },
    }));
    const broker = testBroker({
      openApiSources: [{ name: 'user-service', url: service.specUrl, headers: { authorization: SECRET } }],
    });
    expect(
      (await callFromCode(broker, `tools['user-service_getUser']({ id: 'moved' })`)).outcome,
    ).toMatchObject({
      ok: true,
      value: { name: 'Ada' },
    });
    expect(
      (await callFromCode(broker, `tools['user-service_getUser']({ id: 'away' })`)).outcome,
    ).toMatchObject({
      ok: false,
      code: 'FORBIDDEN',
      message: `GET ${other.origin}/steal refused: ${other.origin} is not an allowed origin of this service`,
    });
    expect(other.calls).toEqual([]);
  });
});
