import { readFileSync } from 'node:fs';
import { DeclarationsResponseSchema } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ToolRegistry } from '../src/index.js';
import { thrownBy } from './broker-helpers.js';
import { startTestBroker } from './http-test-helpers.js';
import { asCode, typeCheck } from './type-check.js';

/** A registry with one tool of each kind the registry takes, and schemas that use every construct. */
function sampleRegistry(): ToolRegistry {
  const registry = new ToolRegistry();
  registry.registerZodTool('getCurrentTime', {
    description: 'Get the current time',
    argsSchema: z.object({ timezone: z.string().optional().describe('IANA time zone, e.g. Europe/Paris') }),
    handler: async () => '12:00',
  });
  registry.register({
    name: 'users:list',
    description: 'List all users',
    parameters: {
      limit: { type: 'number', description: 'Max users to return', default: 10 },
      role: { type: 'string', description: 'Only users with this role', required: true },
      tags: { type: 'array', description: 'Tags to match' },
    },
    handler: async () => [],
  });
  registry.registerZodTool('orders.create', {
    description: 'Create an order',
    argsSchema: z.object({
      customer: z.object({ id: z.string(), vip: z.boolean().default(false) }),
      lines: z.array(z.object({ sku: z.string(), quantity: z.number().int().min(1) })).min(1),
      priority: z.enum(['low', 'normal', 'high']).default('normal'),
      note: z.string().nullable(),
      reference: z.union([z.string(), z.number()]).optional(),
      dimensions: z.tuple([z.number(), z.number()]).optional(),
      metadata: z.record(z.string(), z.string()).optional(),
      channel: z.literal('web').optional(),
    }),
    handler: async () => ({ id: 'o1' }),
  });
  registry.registerJsonSchemaTool('billing_getInvoice', {
    description: 'Get an invoice\n\nAnswers 404 when there is none.',
    inputSchema: {
      type: 'object',
      properties: { id: { type: 'string', description: 'Invoice id' } },
      required: ['id'],
      additionalProperties: false,
    },
    outputSchema: {
      type: 'object',
      properties: {
        id: { type: 'string' },
        total: { type: 'number', description: 'In cents' },
        paidAt: { type: ['string', 'null'], format: 'date-time' },
        lines: { type: 'array', items: { type: 'object', properties: { amount: { type: 'integer' } } } },
      },
      required: ['id', 'total'],
    },
    deprecated: true,
    handler: async () => ({ id: 'i1', total: 100 }),
  });
  return registry;
}

describe('registry.getTypeDeclarations()', () => {
  it('declares tools and callTool as globals with JSDoc, and compiles with --strict', () => {
    const declarations = sampleRegistry().getTypeDeclarations();
    expect(declarations).toContain('declare const tools: {');
    expect(declarations).toContain('declare function callTool<Name extends keyof typeof tools>(');
    expect(declarations).toContain('declare const context: Readonly<Record<string, unknown>>;');
    expect(declarations).not.toMatch(/^\s*(export|import)\b/m);
    expect(declarations).toContain('  /** Get the current time */\n  getCurrentTime(args?: {');
    expect(declarations).toContain('    /** IANA time zone, e.g. Europe/Paris */\n    timezone?: string;');
    expect(declarations).toContain('  "users:list"(args: {');
    expect(declarations).toContain(
      '     * Max users to return\n     * @default 10\n     */\n    limit?: number;',
    );
    expect(declarations).toContain('    role: string;');
    expect(declarations).toContain('    tags?: unknown[];');
    expect(declarations).toContain('  "orders.create"(args: {');
    expect(declarations).toContain(
      '   * Get an invoice\n   *\n   * Answers 404 when there is none.\n   * @deprecated\n   */\n  billing_getInvoice(args: {',
    );
    expect(typeCheck({ 'tools.d.ts': declarations })).toEqual([]);
  });

  it('types arguments from their schemas: optional, defaults, enums, nested objects, arrays, nullable, unions', () => {
    const declarations = sampleRegistry().getTypeDeclarations();
    expect(declarations).toContain('    priority?: "low" | "normal" | "high";');
    expect(declarations).toContain('    note: string | null;');
    expect(declarations).toContain('    reference?: string | number;');
    expect(declarations).toContain('    dimensions?: [number, number];');
    expect(declarations).toContain('    metadata?: Record<string, string>;');
    expect(declarations).toContain('    channel?: "web";');
    const correct = asCode(`
      const time = await tools.getCurrentTime();
      await tools.getCurrentTime({ timezone: 'UTC' });
      const users = await callTool('users:list', { role: 'admin' });
      await tools['users:list']({ role: 'admin', limit: 5, tags: ['a'] });
      await tools['orders.create']({
        customer: { id: 'c1' },
        lines: [{ sku: 'x', quantity: 2 }],
        note: null,
        reference: 7,
        dimensions: [1, 2],
        metadata: { source: 'chat' },
      });
      await callTool('orders.create', { customer: { id: 'c1', vip: true }, lines: [], priority: 'high', note: 'ring twice', channel: 'web' });
      return [time, users, context.locale];
    `);
    expect(typeCheck({ 'tools.d.ts': declarations, 'code.ts': correct })).toEqual([]);
  });

  it('makes a type checker refuse calls that do not match', () => {
    const declarations = sampleRegistry().getTypeDeclarations();
    const mistakes = [
      'await tools.getCurrentTime({ timezone: 3 });',
      "await callTool('users:list', { limit: 5 });",
      "await tools['users:list']({ role: 'admin', limt: 5 });",
      "await tools['orders.create']({ customer: { id: 'c1' }, lines: [], note: null, priority: 'urgent' });",
      "await tools['orders.create']({ customer: { id: 'c1' }, lines: [{ sku: 'x' }], note: null });",
      "await tools['orders.create']({ customer: {}, lines: [], note: null });",
      "await tools['orders.create']({ customer: { id: 'c1' }, lines: [], note: undefined });",
      "await tools['orders.create']({ customer: { id: 'c1' }, lines: [], note: null, reference: true });",
      'await tools.notATool();',
      "await callTool('notATool', {});",
      "const total: string = (await tools.billing_getInvoice({ id: 'i1' })).total;",
    ];
    const files: Record<string, string> = { 'tools.d.ts': declarations };
    mistakes.forEach((mistake, index) => {
      files[`mistake-${index}.ts`] = asCode(mistake, `mistake${index}`);
    });
    const errors = typeCheck(files);
    mistakes.forEach((mistake, index) => {
      const inFile = errors.filter((error) => error.startsWith(`mistake-${index}.ts(2): `));
      expect(inFile, mistake).toHaveLength(1);
    });
    expect(errors).toHaveLength(mistakes.length);
  });

  it('types results from an output schema, and as unknown without one', () => {
    const declarations = sampleRegistry().getTypeDeclarations();
    expect(declarations).toContain(
      '  }): Promise<{\n    id: string;\n    /** In cents */\n    total: number;',
    );
    expect(declarations).toContain('    /** Format date-time. */\n    paidAt?: string | null;');
    expect(declarations).toContain(
      '  getCurrentTime(args?: {\n    /** IANA time zone, e.g. Europe/Paris */\n    timezone?: string;\n  }): Promise<unknown>;',
    );
    const code = asCode(`
      const invoice = await tools.billing_getInvoice({ id: 'i1' });
      const cents: number = invoice.total;
      const amounts: (number | undefined)[] = (invoice.lines ?? []).map((line) => line.amount);
      const time = await tools.getCurrentTime();
      return [cents, amounts, typeof time === 'string' ? time.toUpperCase() : null];
    `);
    expect(typeCheck({ 'tools.d.ts': declarations, 'code.ts': code })).toEqual([]);
    const unchecked = asCode('const time = await tools.getCurrentTime(); return time.toUpperCase();');
    expect(typeCheck({ 'tools.d.ts': declarations, 'code.ts': unchecked })).toEqual([
      "code.ts(2): 'time' is of type 'unknown'.",
    ]);
  });

  it('quotes every name that is not an identifier, and keeps odd descriptions inside their comments', () => {
    const registry = new ToolRegistry();
    for (const name of [
      'users:list',
      'user-service_get',
      '2fa',
      'with space',
      'quote"d',
      'ünïcode',
      'delete',
    ]) {
      registry.register({
        name,
        description: 'Ends a comment */ early; has `code`, \\ and a\nsecond line',
        parameters: {
          'x-request-id': { type: 'string', description: '*/ also here', required: true },
          default: { type: 'boolean', description: '' },
        },
        handler: async () => null,
      });
    }
    const declarations = registry.getTypeDeclarations();
    expect(declarations).toContain('  "users:list"(args: {');
    expect(declarations).toContain('  "user-service_get"(args: {');
    expect(declarations).toContain('  "2fa"(args: {');
    expect(declarations).toContain('  "with space"(args: {');
    expect(declarations).toContain('  "quote\\"d"(args: {');
    expect(declarations).toContain('  "ünïcode"(args: {');
    expect(declarations).toContain('  delete(args: {');
    expect(declarations).toContain('    "x-request-id": string;');
    expect(declarations).toContain('   * Ends a comment *\\/ early;');
    const code = asCode(`
      await callTool('quote"d', { 'x-request-id': 'r1' });
      await tools['with space']({ 'x-request-id': 'r1', default: true });
      await tools.delete({ 'x-request-id': 'r1' });
    `);
    expect(typeCheck({ 'tools.d.ts': declarations, 'code.ts': code })).toEqual([]);
  });

  it('compiles for an empty registry, a schema that accepts anything and a recursive schema', () => {
    expect(typeCheck({ 'tools.d.ts': new ToolRegistry().getTypeDeclarations() })).toEqual([]);
    const registry = new ToolRegistry();
    registry.registerJsonSchemaTool('anything', {
      description: 'Takes any arguments',
      inputSchema: {},
      handler: async () => 1,
    });
    const Node: z.ZodType = z.lazy(() => z.object({ name: z.string(), children: z.array(Node) }));
    registry.registerZodTool('tree', {
      description: 'Stores a tree',
      argsSchema: z.object({ root: Node }),
      handler: async () => 1,
    });
    const declarations = registry.getTypeDeclarations();
    expect(declarations).toContain('  anything(args?: unknown): Promise<unknown>;');
    expect(declarations).toContain('    root: {\n      name: string;\n      children: unknown[];\n    };');
    const code = asCode(
      "await tools.anything(); await tools.tree({ root: { name: 'a', children: [{ name: 'b', children: [] }] } });",
    );
    expect(typeCheck({ 'tools.d.ts': declarations, 'code.ts': code })).toEqual([]);
  });

  it('follows the registry: a tool added or removed changes the declarations', () => {
    const registry = new ToolRegistry();
    const before = registry.getTypeDeclarations();
    registry.registerZodTool('ping', {
      description: 'Answers pong',
      argsSchema: z.object({}),
      handler: async () => 'pong',
    });
    const after = registry.getTypeDeclarations();
    expect(after).not.toBe(before);
    expect(after).toContain(
      '  /** Answers pong */\n  ping(args?: Record<string, unknown>): Promise<unknown>;',
    );
    registry.unregister('ping');
    expect(registry.getTypeDeclarations()).toBe(before);
  });

  it('is what getDocumentation({ format: "typescript" }) returns; the text format stays the default', () => {
    const registry = sampleRegistry();
    expect(registry.getDocumentation({ format: 'typescript' })).toBe(registry.getTypeDeclarations());
    expect(registry.getDocumentation()).toBe(registry.getDocumentation({ format: 'text' }));
    expect(registry.getDocumentation()).toContain('# Available tools');
    expect(registry.getDocumentation()).toContain(
      '## billing_getInvoice\n\nDeprecated: prefer another tool when one fits.',
    );
    const error = thrownBy(() => registry.getDocumentation({ format: 'markdown' as 'text' }));
    expect(error.code).toBe('CONFIGURATION_ERROR');
  });

  it('refuses an output schema that is not an object', () => {
    const error = thrownBy(() =>
      new ToolRegistry().registerJsonSchemaTool('x', {
        description: 'x',
        inputSchema: {},
        outputSchema: 'string' as unknown as Record<string, unknown>,
        handler: async () => 1,
      }),
    );
    expect(error.code).toBe('CONFIGURATION_ERROR');
    expect(error.message).toContain('outputSchema must be a JSON Schema object');
  });
});

describe('GET /code/declarations', () => {
  it('answers the declarations as text, or as { version, declarations } when JSON is asked for', async () => {
    await using served = await startTestBroker({ tools: sampleRegistry() });
    const text = await fetch(`${served.url}/code/declarations`);
    expect(text.status).toBe(200);
    expect(text.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await text.text()).toBe(served.broker.tools.getTypeDeclarations());

    const json = await fetch(`${served.url}/code/declarations`, { headers: { accept: 'application/json' } });
    expect(json.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = DeclarationsResponseSchema.parse(await json.json());
    expect(body.declarations).toBe(served.broker.tools.getTypeDeclarations());
    expect(body.version).toMatch(/^[0-9a-f]{64}$/);

    served.broker.tool('ping', {
      description: 'Answers pong',
      argsSchema: z.object({}),
      handler: () => 'pong',
    });
    const changed = DeclarationsResponseSchema.parse(
      await (
        await fetch(`${served.url}/code/declarations`, { headers: { accept: 'application/json' } })
      ).json(),
    );
    expect(changed.version).not.toBe(body.version);
    expect(changed.declarations).toContain('ping(args?: Record<string, unknown>): Promise<unknown>;');
  });

  it.each([
    [undefined, 'text/plain'],
    ['*/*', 'text/plain'],
    ['text/plain', 'text/plain'],
    ['application/json', 'application/json'],
    ['application/json, */*;q=0.8', 'application/json'],
    ['text/plain;q=0.5, application/json', 'application/json'],
    ['application/json;q=0.5, text/plain', 'text/plain'],
    ['text/html', 'text/plain'],
  ])('Accept %s gets %s', async (accept, expected) => {
    await using served = await startTestBroker({ tools: sampleRegistry() });
    const response = await fetch(`${served.url}/code/declarations`, {
      headers: accept === undefined ? {} : { accept },
    });
    expect(response.headers.get('content-type')).toContain(expected);
  });

  it('needs the same credentials as the other routes, and only answers GET', async () => {
    await using served = await startTestBroker({
      authentication: {
        type: 'bearer',
        validate: async (token) => ({ valid: token === 'secret', userId: 'u1' }),
      },
    });
    const anonymous = await fetch(`${served.url}/code/declarations`);
    expect(anonymous.status).toBe(401);
    const allowed = await fetch(`${served.url}/code/declarations`, {
      headers: { authorization: 'Bearer secret' },
    });
    expect(allowed.status).toBe(200);
    expect(await allowed.text()).toContain('declare const tools: {};');
    const posted = await fetch(`${served.url}/code/declarations`, {
      method: 'POST',
      headers: { authorization: 'Bearer secret' },
    });
    expect(posted.status).toBe(405);
    expect(posted.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('docs/broker.md', () => {
  it('shows declarations exactly as the registry writes them', () => {
    const documentation = readFileSync(new URL('../../../docs/broker.md', import.meta.url), 'utf8');
    const section = documentation.split('### Type declarations for prompts')[1] ?? '';
    const shown = section.split('```ts\n')[1]?.split('```')[0];
    const registry = new ToolRegistry();
    // The demo MCP server's weather tool, as its schemas arrive.
    registry.registerJsonSchemaTool('demo_weather', {
      description: "Today's weather in a city (made up)",
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
      handler: async () => null,
    });
    registry.registerZodTool('getCurrentTime', {
      description: 'Get the current time',
      argsSchema: z.object({ timezone: z.string().optional().describe('IANA time zone, e.g. Europe/Paris') }),
      handler: async () => null,
    });
    registry.register({
      name: 'users:list',
      description: 'List users',
      parameters: { limit: { type: 'number', description: 'Max results', default: 10 } },
      handler: async () => [],
    });
    expect(shown).toBe(registry.getTypeDeclarations());
  });
});
