import { type CatalogChange, CatalogResponseSchema } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type McpServerConfig, ToolRegistry } from '../src/index.js';
import { eventOf, testBroker, typesOf } from './broker-helpers.js';
import { callFromCode, SteppedSession } from './catalog-helpers.js';
import { startTestBroker } from './http-test-helpers.js';
import { startHttpMcpServer, stdioServer } from './mcp-test-servers.js';
import { readFixture, startOpenApiService } from './open-api-test-service.js';
import { asCode, typeCheck } from './type-check.js';

/** The demo server's tools, as the broker names them for a server called `demo`. */
const DEMO_TOOLS = [
  'demo_addTool',
  'demo_cancelledCalls',
  'demo_echo',
  'demo_envLength',
  'demo_fail',
  'demo_lines',
  'demo_picture',
  'demo_pid',
  'demo_removeTool',
  'demo_wait',
  'demo_weather',
];

interface DemoServer extends AsyncDisposable {
  config: McpServerConfig;
}

const transports: [string, () => Promise<DemoServer>][] = [
  ['stdio', async () => ({ config: stdioServer('demo'), [Symbol.asyncDispose]: async () => undefined })],
  [
    'Streamable HTTP',
    async () => {
      const server = await startHttpMcpServer();
      return { config: { name: 'demo', url: server.url }, [Symbol.asyncDispose]: () => server.stop() };
    },
  ],
];

describe.each(transports)('an MCP server over %s', (_transport, startServer) => {
  it('offers each of its tools as demo_<tool>, in the registry and the catalog', async () => {
    await using server = await startServer();
    const broker = testBroker({ mcpServers: [server.config] });
    await broker.catalog.ready();
    const catalog = broker.catalog.getCatalog();
    expect(CatalogResponseSchema.parse(catalog)).toEqual(catalog);
    expect(catalog.actions.map((action) => action.name)).toEqual(DEMO_TOOLS);
    expect(catalog.services).toEqual([
      {
        name: 'demo',
        specUrl: 'url' in server.config ? server.config.url : '',
        lastUpdated: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        actionCount: DEMO_TOOLS.length,
        status: 'ok',
        kind: 'mcp',
      },
    ]);
    const weather = catalog.actions.find((action) => action.name === 'demo_weather');
    expect(weather).toEqual({
      name: 'demo_weather',
      description: "Today's weather in a city (made up)",
      service: 'demo',
      inputSchema: {
        type: 'object',
        properties: {
          city: { type: 'string', minLength: 1, description: 'City name' },
          unit: { type: 'string', enum: ['celsius', 'fahrenheit'], description: 'Temperature unit' },
        },
        required: ['city'],
      },
      outputSchema: {
        type: 'object',
        properties: {
          city: { type: 'string' },
          temperature: { type: 'number', description: 'In the unit asked for' },
          conditions: { type: 'string', enum: ['sunny', 'cloudy', 'rain'] },
        },
        required: ['city', 'temperature', 'conditions'],
        additionalProperties: false,
      },
    });
    for (const name of DEMO_TOOLS) expect(broker.tools.has(name)).toBe(true);
    expect(broker.tools.getInputSchema('demo_echo')).toEqual({
      type: 'object',
      properties: { text: { type: 'string', description: 'What to echo' } },
      required: ['text'],
    });
    expect(broker.tools.getDocumentation()).toContain('## demo_echo\n\nAnswers with the text it gets');
  });

  it('answers calls from code: structured content as data, text as text, other content as blocks', async () => {
    await using server = await startServer();
    const broker = testBroker({ mcpServers: [server.config] });
    const { outcome, events } = await callFromCode(
      broker,
      `Promise.all([
        tools.demo_weather({ city: 'Oslo', unit: 'fahrenheit' }),
        tools.demo_echo({ text: 'hello' }),
        callTool('demo_lines', { count: 3 }),
        tools['demo_picture'](),
      ])`,
    );
    expect(outcome).toEqual({
      ok: true,
      value: [
        { city: 'Oslo', temperature: 70, conditions: 'sunny' },
        'hello',
        'line 1\nline 2\nline 3',
        [
          { type: 'image', data: expect.stringMatching(/^iVBOR/), mimeType: 'image/png' },
          { type: 'text', text: 'one transparent pixel' },
        ],
      ],
    });
    const calls = events.filter((event) => event.type === 'tool_call');
    expect(calls.map((event) => event.payload.answeredBy)).toEqual(['broker', 'broker', 'broker', 'broker']);
  });

  it("throws a tool's error inside the code with its text, and refuses bad arguments before sending", async () => {
    await using server = await startServer();
    const broker = testBroker({ mcpServers: [server.config] });
    expect((await callFromCode(broker, "tools.demo_fail({ reason: 'the disk is full' })")).outcome).toEqual({
      ok: false,
      code: 'TOOL_ERROR',
      message: 'the disk is full',
    });
    expect((await callFromCode(broker, "tools.demo_weather({ city: '', unit: 'kelvin' })")).outcome).toEqual({
      ok: false,
      code: 'TOOL_VALIDATION_ERROR',
      message:
        'Invalid arguments for tool demo_weather: city: must NOT have fewer than 1 characters; unit: must be equal to one of the allowed values',
      details: {
        issues: [
          { path: 'city', message: 'must NOT have fewer than 1 characters' },
          { path: 'unit', message: 'must be equal to one of the allowed values' },
        ],
      },
    });
    // The server never saw the refused call: a valid one afterwards still works.
    expect((await callFromCode(broker, "tools.demo_echo({ text: 'still here' })")).outcome).toEqual({
      ok: true,
      value: 'still here',
    });
  });

  it('follows notifications/tools/list_changed: the catalog changes, running sessions get catalog_changed', async () => {
    await using server = await startServer();
    const broker = testBroker({ mcpServers: [server.config] });
    await broker.catalog.ready();
    const versionBefore = broker.catalog.getCatalog().version;
    const changes: CatalogChange[] = [];
    broker.on('catalog:changed', (change) => changes.push(change));
    const session = new SteppedSession(
      broker,
      `
        await tools.demo_addTool({ name: 'double' });
        await tools.pause('added');
        const doubled = await tools.demo_double({ n: 21 });
        await tools.demo_removeTool({ name: 'double' });
        await tools.pause('removed');
        return doubled;
      `,
    );
    expect(await session.untilPause()).toBe('added');
    await waitForChanges(changes, 1);
    const added = broker.catalog.getCatalog();
    expect(added.version).not.toBe(versionBefore);
    expect(changes[0]).toEqual({
      version: added.version,
      addedActions: ['demo_double'],
      removedActions: [],
      updatedActions: [],
    });
    expect(added.actions.find((action) => action.name === 'demo_double')).toMatchObject({
      description: 'A tool added while the server runs (double)',
      inputSchema: { properties: { n: { type: 'number' } }, required: ['n'] },
    });
    await session.resume();
    expect(await session.untilPause()).toBe('removed');
    await waitForChanges(changes, 2);
    expect(changes[1]).toMatchObject({ addedActions: [], removedActions: ['demo_double'] });
    expect(broker.catalog.getCatalog().version).toBe(versionBefore);
    expect(broker.tools.has('demo_double')).toBe(false);
    expect(await session.finish()).toBe('double:42');
    const changed = session.events.filter((event) => event.type === 'catalog_changed');
    expect(changed.map((event) => event.payload)).toEqual(changes);
    expect(typesOf(session.events).at(-1)).toBe('final');
  });

  it('cancels a call at the session tool timeout, and tells the server', async () => {
    await using server = await startServer();
    const broker = testBroker({ mcpServers: [server.config], limits: { toolTimeout: 300 } });
    const { outcome } = await callFromCode(broker, 'tools.demo_wait({ ms: 60000 })');
    expect(outcome).toMatchObject({ ok: false, code: 'TOOL_TIMEOUT' });
    // notifications/cancelled reached the tool, which stopped waiting.
    await expect
      .poll(async () => (await callFromCode(broker, 'tools.demo_cancelledCalls()')).outcome)
      .toEqual({ ok: true, value: '1' });
  });
});

/** Waits until the broker has reported `count` catalog changes. */
async function waitForChanges(changes: readonly CatalogChange[], count: number): Promise<void> {
  await expect.poll(() => changes.length, { timeout: 10_000 }).toBe(count);
}

describe('several MCP servers and OpenAPI sources', () => {
  it('share one catalog: each server is a service with its tools', async () => {
    await using http = await startHttpMcpServer();
    const broker = testBroker({
      mcpServers: [stdioServer('local'), { name: 'remote', url: http.url }],
    });
    const { outcome, events } = await callFromCode(
      broker,
      "Promise.all([tools.local_pid(), tools.remote_pid(), tools.remote_echo({ text: 'x' })])",
    );
    expect(outcome).toMatchObject({ ok: true });
    const [localPid, remotePid] = (outcome as { value: string[] }).value;
    // The stdio server is a child process; the HTTP one runs in this process.
    expect(Number(localPid)).not.toBe(process.pid);
    expect(Number(remotePid)).toBe(process.pid);
    const catalog = broker.catalog.getCatalog();
    expect(catalog.services.map((service) => [service.name, service.kind, service.actionCount])).toEqual([
      ['local', 'mcp', DEMO_TOOLS.length],
      ['remote', 'mcp', DEMO_TOOLS.length],
    ]);
    expect(eventOf(events, 'final').payload.ok).toBe(true);
  });
});

describe('declarations of every kind of tool', () => {
  it('GET /code/declarations types zod, ParameterDef, OpenAPI and MCP tools in one script that compiles', async () => {
    await using users = await startOpenApiService();
    users.setSpec(readFixture('users-3.0.yaml'));
    const registry = new ToolRegistry();
    registry.register({
      name: 'users:list',
      description: 'List users',
      parameters: { limit: { type: 'number', description: 'Max results', default: 10 } },
      handler: async () => [],
    });
    await using served = await startTestBroker({
      tools: registry,
      openApiSources: [{ name: 'user-service', url: users.specUrl }],
      mcpServers: [stdioServer('demo')],
    });
    served.broker.tool('getCurrentTime', {
      description: 'Get the current time',
      argsSchema: z.object({ timezone: z.string().optional() }),
      handler: async () => '12:00',
    });
    const response = await fetch(`${served.url}/code/declarations`);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const declarations = await response.text();
    expect(declarations).toContain(
      [
        "  /** Today's weather in a city (made up) */",
        '  demo_weather(args: {',
        '    /**',
        '     * City name',
        '     * At least 1 character.',
        '     */',
        '    city: string;',
        '    /** Temperature unit */',
        '    unit?: "celsius" | "fahrenheit";',
        '  }): Promise<{',
        '    city: string;',
        '    /** In the unit asked for */',
        '    temperature: number;',
        '    conditions: "sunny" | "cloudy" | "rain";',
        '  }>;',
      ].join('\n'),
    );
    expect(declarations).toContain('  getCurrentTime(args?: {');
    expect(declarations).toContain('  "users:list"(args?: {');
    expect(declarations).toContain('  "user-service_getUser"(args: {');
    const correct = asCode(`
      const weather = await tools.demo_weather({ city: 'Oslo' });
      const celsius: number = weather.temperature;
      const echoed = await callTool('demo_echo', { text: 'hi' });
      const user = await tools['user-service_getUser']({ id: '1' });
      const users = await callTool('users:list', { limit: 3 });
      const time = await tools.getCurrentTime({ timezone: 'UTC' });
      return [celsius, echoed, user.name, users, time];
    `);
    expect(typeCheck({ 'tools.d.ts': declarations, 'code.ts': correct })).toEqual([]);
    const wrong = asCode("await tools.demo_weather({ city: 'Oslo', unit: 'kelvin' });");
    expect(typeCheck({ 'tools.d.ts': declarations, 'code.ts': wrong })).toEqual([
      expect.stringMatching(
        /^code\.ts\(2\): Type '"kelvin"' is not assignable to type '"celsius" \| "fahrenheit"/,
      ),
    ]);
  });
});
