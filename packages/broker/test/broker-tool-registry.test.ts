import { EnclaveError } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ToolRegistry } from '../src/tools/tool-registry.js';
import type { ExecutionContext } from '../src/tools/tool-types.js';

function context(toolName: string): ExecutionContext {
  return {
    sessionId: 'ses_test',
    callId: 'call_1',
    toolName,
    context: {},
    signal: new AbortController().signal,
  };
}

/** The ToolRegistry of the broker documentation: two tools described by ParameterDefs. */
function documentedRegistry(): ToolRegistry {
  const registry = new ToolRegistry();
  registry.register({
    name: 'users:list',
    description: 'List all users',
    parameters: {
      limit: { type: 'number', description: 'Max users to return', default: 10 },
    },
    handler: async (args) => [{ id: '1' }, { id: '2' }, { id: '3' }].slice(0, args.limit as number),
  });
  registry.register({
    name: 'users:get',
    description: 'Get user by ID',
    parameters: { id: { type: 'string', description: 'User ID', required: true } },
    handler: async (args) => ({ id: args.id, name: 'Alice' }),
  });
  return registry;
}

async function rejection(promise: Promise<unknown>): Promise<EnclaveError> {
  try {
    await promise;
  } catch (error) {
    if (EnclaveError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

function thrown(action: () => unknown): EnclaveError {
  try {
    action();
  } catch (error) {
    if (EnclaveError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a throw');
}

describe('ToolRegistry', () => {
  it('registers, gets and lists tools in registration order', () => {
    const registry = documentedRegistry();
    expect(registry.has('users:list')).toBe(true);
    expect(registry.has('users:delete')).toBe(false);
    expect(registry.get('users:get')?.description).toBe('Get user by ID');
    expect(registry.get('users:get')?.parameters.id).toEqual({
      type: 'string',
      description: 'User ID',
      required: true,
    });
    expect(registry.get('nope')).toBeUndefined();
    expect(registry.list().map((tool) => tool.name)).toEqual(['users:list', 'users:get']);
    expect(registry.size).toBe(2);
    expect(registry.unregister('users:get')).toBe(true);
    expect(registry.list().map((tool) => tool.name)).toEqual(['users:list']);
  });

  it('applies defaults and passes checked arguments to the handler', async () => {
    const registry = documentedRegistry();
    await expect(registry.call('users:list', {}, context('users:list'))).resolves.toHaveLength(3);
    await expect(registry.call('users:list', undefined, context('users:list'))).resolves.toHaveLength(3);
    await expect(registry.call('users:list', { limit: 1 }, context('users:list'))).resolves.toEqual([
      { id: '1' },
    ]);
    expect(registry.validateArguments('users:list', {})).toEqual({ success: true, args: { limit: 10 } });
  });

  it('rejects invalid arguments with TOOL_VALIDATION_ERROR and never calls the handler', async () => {
    const registry = new ToolRegistry();
    let calls = 0;
    registry.register({
      name: 'search',
      description: 'Search',
      parameters: {
        query: { type: 'string', description: 'Text', required: true },
        tags: { type: 'array', description: 'Tags' },
        options: { type: 'object', description: 'Options' },
        exact: { type: 'boolean', description: 'Exact match' },
      },
      handler: async () => {
        calls++;
        return 'ran';
      },
    });
    const missing = await rejection(registry.call('search', {}, context('search')));
    expect(missing.code).toBe('TOOL_VALIDATION_ERROR');
    expect(missing.message).toContain('query: required argument is missing');
    const wrongTypes = await rejection(
      registry.call('search', { query: 1, tags: 'a', options: [], exact: 'yes' }, context('search')),
    );
    expect(wrongTypes.message).toContain('query: expected string, received number');
    expect(wrongTypes.message).toContain('tags: expected array, received string');
    expect(wrongTypes.message).toContain('options: expected object, received array');
    expect(wrongTypes.message).toContain('exact: expected boolean, received string');
    const unknown = await rejection(registry.call('search', { query: 'x', limt: 5 }, context('search')));
    expect(unknown.message).toContain(
      'limt: unknown argument (expected one of: query, tags, options, exact)',
    );
    const notObject = await rejection(registry.call('search', ['x'], context('search')));
    expect(notObject.message).toContain('expected an object of arguments, received array');
    expect(calls).toBe(0);
    await expect(registry.call('search', { query: 'x' }, context('search'))).resolves.toBe('ran');
    expect(calls).toBe(1);
  });

  it('gives each call its own copy of an object default', async () => {
    const registry = new ToolRegistry();
    registry.register({
      name: 'mutate',
      description: 'Changes its argument',
      parameters: { bag: { type: 'object', description: 'A bag', default: { items: [] } } },
      handler: async (args) => {
        const bag = args.bag as { items: number[] };
        bag.items.push(1);
        return bag.items.length;
      },
    });
    await expect(registry.call('mutate', {}, context('mutate'))).resolves.toBe(1);
    await expect(registry.call('mutate', {}, context('mutate'))).resolves.toBe(1);
  });

  it('refuses duplicate names and invalid definitions with CONFIGURATION_ERROR', () => {
    const registry = documentedRegistry();
    const handler = async () => null;
    const duplicate = thrown(() =>
      registry.register({ name: 'users:list', description: 'Again', parameters: {}, handler }),
    );
    expect(duplicate.code).toBe('CONFIGURATION_ERROR');
    expect(duplicate.message).toContain('already registered');
    const invalid: unknown[] = [
      { name: '', description: 'x', parameters: {}, handler },
      { name: 'x'.repeat(257), description: 'x', parameters: {}, handler },
      { name: 'a', parameters: {}, handler },
      { name: 'a', description: 'x', parameters: {} },
      { name: 'a', description: 'x', parameters: { p: { type: 'date', description: 'when' } }, handler },
      { name: 'a', description: 'x', parameters: { p: { type: 'number' } }, handler },
      {
        name: 'a',
        description: 'x',
        parameters: { p: { type: 'number', description: 'n', default: '1' } },
        handler,
      },
      {
        name: 'a',
        description: 'x',
        parameters: { p: { type: 'number', description: 'n', default: 1, required: true } },
        handler,
      },
      { name: 'a', description: 'x', parameters: [], handler },
    ];
    for (const definition of invalid) {
      const error = thrown(() => registry.register(definition as Parameters<ToolRegistry['register']>[0]));
      expect(error.code).toBe('CONFIGURATION_ERROR');
    }
    expect(registry.list()).toHaveLength(2);
  });

  it('wraps handler failures in TOOL_ERROR and keeps an EnclaveError handler code', async () => {
    const registry = new ToolRegistry();
    registry.register({
      name: 'broken',
      description: 'Always fails',
      parameters: {},
      handler: async () => {
        throw new Error('database is down');
      },
    });
    registry.register({
      name: 'forbidden',
      description: 'Refuses',
      parameters: {},
      handler: async () => {
        throw new EnclaveError('FORBIDDEN', 'not for you');
      },
    });
    const broken = await rejection(registry.call('broken', {}, context('broken')));
    expect(broken.code).toBe('TOOL_ERROR');
    expect(broken.message).toBe('Tool broken failed: database is down');
    const forbidden = await rejection(registry.call('forbidden', {}, context('forbidden')));
    expect(forbidden.code).toBe('FORBIDDEN');
    const unknown = await rejection(registry.call('missing', {}, context('missing')));
    expect(unknown.code).toBe('TOOL_NOT_FOUND');
  });

  it('registers zod tools: parses arguments (defaults included) and describes them as JSON Schema', async () => {
    const registry = new ToolRegistry();
    registry.registerZodTool('getCurrentTime', {
      description: 'Get the current time',
      argsSchema: z.object({
        timezone: z.string().optional().describe('IANA time zone'),
        precision: z.number().int().default(0),
      }),
      handler: async ({ timezone, precision }, executionContext) =>
        `${timezone ?? 'UTC'}/${precision}/${executionContext.toolName}`,
    });
    await expect(
      registry.call('getCurrentTime', { timezone: 'Europe/Paris' }, context('getCurrentTime')),
    ).resolves.toBe('Europe/Paris/0/getCurrentTime');
    const invalid = await rejection(
      registry.call('getCurrentTime', { timezone: 5 }, context('getCurrentTime')),
    );
    expect(invalid.code).toBe('TOOL_VALIDATION_ERROR');
    expect(invalid.message).toContain('timezone: Invalid input: expected string, received number');
    expect(registry.getInputSchema('getCurrentTime')).toMatchObject({
      type: 'object',
      properties: { timezone: { type: 'string', description: 'IANA time zone' }, precision: { default: 0 } },
    });
    const definition = registry.get('getCurrentTime');
    expect(definition?.parameters.timezone).toEqual({ type: 'string', description: 'IANA time zone' });
    // Called directly, the definition's handler still validates.
    await expect(definition?.handler({ timezone: 1 })).rejects.toMatchObject({
      code: 'TOOL_VALIDATION_ERROR',
    });
    await expect(definition?.handler({})).resolves.toBe('UTC/0/getCurrentTime');
    const notSchema = thrown(() =>
      registry.registerZodTool('bad', {
        description: 'x',
        argsSchema: { parse: () => ({}) } as unknown as z.ZodType,
        handler: () => null,
      }),
    );
    expect(notSchema.code).toBe('CONFIGURATION_ERROR');
  });

  it('documents every tool for an LLM prompt', () => {
    const registry = documentedRegistry();
    registry.registerZodTool('getCurrentTime', {
      description: 'Get the current time',
      argsSchema: z.object({ timezone: z.string().optional().describe('IANA time zone') }),
      handler: async () => 'now',
    });
    registry.register({
      name: 'ping',
      description: 'Checks liveness',
      parameters: {},
      handler: async () => 'pong',
    });
    const text = registry.getDocumentation();
    expect(text).toContain('## users:list');
    expect(text).toContain('List all users');
    expect(text).toContain("Call: `await callTool('users:list', { limit })`");
    expect(text).toContain('- limit (number, optional, default: 10) — Max users to return');
    expect(text).toContain("Call: `await callTool('users:get', { id })`");
    expect(text).toContain('- id (string, required) — User ID');
    expect(text).toContain('## getCurrentTime');
    expect(text).toContain('Call: `await tools.getCurrentTime({ timezone })`');
    expect(text).toContain('- timezone (string, optional) — IANA time zone');
    expect(text).toContain('Call: `await tools.ping()`');
    expect(text).toContain('Arguments: none');
    expect(new ToolRegistry().getDocumentation()).toContain('No tools are available.');
  });
});

describe('ToolRegistry.registerJsonSchemaTool', () => {
  const inputSchema = {
    type: 'object',
    properties: { city: { type: 'string', minLength: 1 }, days: { type: 'integer', format: 'int32' } },
    required: ['city'],
    additionalProperties: false,
  };

  it('checks arguments with the JSON Schema before the handler runs, and passes them unchanged', async () => {
    const registry = new ToolRegistry();
    const seen: unknown[] = [];
    registry.registerJsonSchemaTool('forecast', {
      description: 'Forecast for a city',
      inputSchema,
      handler: async (args) => {
        seen.push(args);
        return 'sunny';
      },
    });
    await expect(registry.call('forecast', { city: 'Oslo', days: 3 }, context('forecast'))).resolves.toBe(
      'sunny',
    );
    const invalid = await rejection(registry.call('forecast', { days: 2 ** 40 }, context('forecast')));
    expect(invalid.code).toBe('TOOL_VALIDATION_ERROR');
    expect(invalid.message).toBe(
      'Invalid arguments for tool forecast: city: required argument is missing; days: must match format "int32"',
    );
    expect(invalid.details).toEqual({
      issues: [
        { path: 'city', message: 'required argument is missing' },
        { path: 'days', message: 'must match format "int32"' },
      ],
    });
    // Called directly, the definition's handler checks too.
    const direct = await rejection(registry.get('forecast')?.handler({ city: '' }) ?? Promise.resolve());
    expect(direct.message).toBe(
      'Invalid arguments for tool forecast: city: must NOT have fewer than 1 characters',
    );
    expect(seen).toEqual([{ city: 'Oslo', days: 3 }]);
    expect(registry.get('forecast')?.parameters).toEqual({
      city: { type: 'string', description: '', required: true },
      days: { type: 'number', description: '' },
    });
    expect(registry.getDocumentation()).toContain('Call: `await tools.forecast({ city, days })`');
  });

  it('refuses a taken name or an invalid config with CONFIGURATION_ERROR', () => {
    const registry = new ToolRegistry();
    registry.registerJsonSchemaTool('forecast', { description: '', inputSchema, handler: async () => null });
    expect(
      thrown(() =>
        registry.registerJsonSchemaTool('forecast', {
          description: '',
          inputSchema,
          handler: async () => null,
        }),
      ).message,
    ).toBe('A tool named "forecast" is already registered');
    expect(
      thrown(() =>
        registry.registerJsonSchemaTool('other', {
          description: '',
          inputSchema: 'object' as never,
          handler: async () => null,
        }),
      ).code,
    ).toBe('CONFIGURATION_ERROR');
    expect(registry.unregister('forecast')).toBe(true);
    // The name is free again, with a new schema.
    registry.registerJsonSchemaTool('forecast', {
      description: '',
      inputSchema: { type: 'object', properties: { zip: { type: 'string' } }, required: ['zip'] },
      handler: async () => null,
    });
    expect(registry.validateArguments('forecast', { city: 'Oslo' })).toMatchObject({ success: false });
    expect(registry.validateArguments('forecast', { zip: '0150' })).toMatchObject({ success: true });
  });
});
