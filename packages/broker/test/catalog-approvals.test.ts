import { CatalogResponseSchema, type StreamEvent } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import type { EnclaveBroker } from '../src/index.js';
import { collect, eventOf, readUntil, testBroker, thrownBy, typesOf } from './broker-helpers.js';
import { stdioServer } from './mcp-test-servers.js';
import { readFixture, startOpenApiService } from './open-api-test-service.js';

/** Runs `expression` in the sandbox up to its `approval_required`, then decides it. */
async function callWithDecision(
  broker: EnclaveBroker,
  expression: string,
  approved: boolean,
): Promise<{ events: StreamEvent[]; outcome: unknown }> {
  const iterator = broker
    .execute(
      `try { return { ok: true, value: await ${expression} }; } catch (error) { return { ok: false, code: error.code }; }`,
    )
    [Symbol.asyncIterator]();
  const read = await readUntil(iterator, (event) => event.type === 'approval_required');
  const required = eventOf(read, 'approval_required');
  await broker.submitApproval(
    required.sessionId,
    required.payload.callId,
    approved,
    approved ? undefined : 'no',
  );
  const events = [...read, ...(await collect({ [Symbol.asyncIterator]: () => iterator }))];
  return { events, outcome: eventOf(events, 'final').payload.result };
}

async function usersService() {
  const service = await startOpenApiService();
  service.setSpec(readFixture('users-3.0.yaml'));
  service.route('GET', '/api/users', () => ({ body: [{ id: '1', name: 'Ada' }] }));
  service.route('DELETE', '/api/users/1', () => ({ status: 204 }));
  service.route('POST', '/api/users', (request) => ({
    status: 201,
    body: { id: '4', ...JSON.parse(request.body) },
  }));
  return service;
}

describe('approval per OpenAPI source', () => {
  it('gates the operations a function picks (every non-GET) and lists them with requiresApproval', async () => {
    await using service = await usersService();
    const broker = testBroker({
      openApiSources: [
        { name: 'users', url: service.specUrl, requiresApproval: (operation) => operation.method !== 'GET' },
      ],
    });
    await broker.catalog.ready();
    const catalog = broker.catalog.getCatalog();
    expect(CatalogResponseSchema.parse(catalog)).toEqual(catalog);
    const gated = catalog.actions
      .filter((action) => action.requiresApproval === true)
      .map((action) => action.name);
    expect(gated).toEqual(['users_createUser', 'users_deleteUser']);
    expect(broker.tools.get('users_deleteUser')?.requiresApproval).toBe(true);
    expect(broker.tools.get('users_listUsers')?.requiresApproval).toBeUndefined();

    const list = await collect(broker.execute(`return await tools.users_listUsers({})`));
    expect(typesOf(list)).not.toContain('approval_required');
    expect(service.calls.map((call) => call.method)).toEqual(['GET']);

    const denied = await callWithDecision(broker, `tools.users_deleteUser({ id: '1' })`, false);
    expect(denied.outcome).toEqual({ ok: false, code: 'APPROVAL_DENIED' });
    // Nothing was sent to the service.
    expect(service.calls.map((call) => call.method)).toEqual(['GET']);

    const approved = await callWithDecision(broker, `tools.users_deleteUser({ id: '1' })`, true);
    expect(approved.outcome).toEqual({ ok: true, value: null });
    expect(service.calls.map((call) => `${call.method} ${call.url}`)).toEqual([
      'GET /api/users',
      'DELETE /api/users/1',
    ]);
  });

  it('takes patterns, as include does, and true for every operation', async () => {
    await using service = await usersService();
    const broker = testBroker({
      openApiSources: [
        { name: 'patterns', url: service.specUrl, requiresApproval: ['DELETE *', 'createUser'] },
        { name: 'all', url: service.specUrl, requiresApproval: true },
      ],
    });
    await broker.catalog.ready();
    const gated = broker.catalog
      .getCatalog()
      .actions.filter((action) => action.requiresApproval === true)
      .map((action) => action.name);
    expect(gated).toEqual([
      'patterns_createUser',
      'patterns_deleteUser',
      'all_listUsers',
      'all_createUser',
      'all_getUser',
      'all_deleteUser',
      'all_get_users_id_avatar',
    ]);
  });

  it('refuses a requiresApproval that is not true, false, patterns or a function', () => {
    expect(
      thrownBy(() =>
        testBroker({
          openApiSources: [
            {
              name: 'users',
              url: 'http://127.0.0.1:1/openapi.json',
              requiresApproval: 'DELETE *' as unknown as string[],
            },
          ],
        }),
      ),
    ).toMatchObject({
      code: 'CONFIGURATION_ERROR',
      message:
        'OpenAPI source "users": requiresApproval must be true, false, an array of patterns or a function',
    });
  });
});

describe('approval per MCP server', () => {
  it('gates the tools a list names; a denied call never reaches the server', async () => {
    const broker = testBroker({
      mcpServers: [{ ...stdioServer('demo'), requiresApproval: ['addTool', 'remove*'] }],
    });
    await broker.catalog.ready();
    const gated = broker.catalog
      .getCatalog()
      .actions.filter((action) => action.requiresApproval === true)
      .map((action) => action.name);
    expect(gated).toEqual(['demo_addTool', 'demo_removeTool']);

    const echo = await collect(broker.execute(`return await tools.demo_echo({ text: 'hi' })`));
    expect(typesOf(echo)).not.toContain('approval_required');
    expect(eventOf(echo, 'final').payload.result).toBe('hi');

    const denied = await callWithDecision(broker, `tools.demo_addTool({ name: 'extra' })`, false);
    expect(denied.outcome).toEqual({ ok: false, code: 'APPROVAL_DENIED' });
    await broker.catalog.refresh();
    expect(broker.tools.has('demo_extra')).toBe(false);

    const approved = await callWithDecision(broker, `tools.demo_addTool({ name: 'extra' })`, true);
    expect(approved.outcome).toEqual({ ok: true, value: 'added extra' });
    await broker.catalog.refresh();
    expect(broker.tools.has('demo_extra')).toBe(true);
    // A tool the server adds later is gated by the same rule: its name does not match.
    expect(broker.tools.get('demo_extra')?.requiresApproval).toBeUndefined();
    const removed = await callWithDecision(broker, `tools.demo_removeTool({ name: 'extra' })`, true);
    expect(removed.outcome).toEqual({ ok: true, value: 'removed extra' });
  });

  it('lets a function decide from the tool, its names and its annotations', async () => {
    const seen: unknown[] = [];
    const broker = testBroker({
      mcpServers: [
        {
          ...stdioServer('demo'),
          requiresApproval: (tool) => {
            seen.push(tool);
            return tool.annotations?.readOnlyHint !== true;
          },
        },
      ],
    });
    await broker.catalog.ready();
    expect(seen).toContainEqual({
      name: 'demo_weather',
      tool: 'weather',
      annotations: { readOnlyHint: true, openWorldHint: false },
    });
    const gated = broker.catalog
      .getCatalog()
      .actions.filter((action) => action.requiresApproval === true)
      .map((action) => action.name);
    expect(gated).not.toContain('demo_echo');
    expect(gated).not.toContain('demo_weather');
    expect(gated).toContain('demo_addTool');
    expect(gated).toContain('demo_removeTool');
  });

  it('refuses a requiresApproval that is not true, false, patterns or a function', () => {
    expect(
      thrownBy(() =>
        testBroker({
          mcpServers: [{ ...stdioServer('demo'), requiresApproval: 'addTool' as unknown as string[] }],
        }),
      ),
    ).toMatchObject({
      code: 'CONFIGURATION_ERROR',
      message:
        'MCP server "demo": requiresApproval must be true, false, an array of tool name patterns or a function',
    });
  });
});
