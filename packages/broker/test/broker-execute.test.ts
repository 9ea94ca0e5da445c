import { EnclaveError } from '@enclave-vm/types';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { createBroker } from '../src/create-broker.js';
import { Broker, EnclaveBroker, InMemorySessionStore } from '../src/index.js';
import type { Session } from '../src/sessions/session.js';
import { ToolRegistry } from '../src/tools/tool-registry.js';
import {
  collect,
  eventOf,
  rejectionOf,
  seqsAreContiguous,
  testBroker,
  thrownBy,
  typesOf,
} from './broker-helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('broker.execute', () => {
  it('runs the documented quick start as written', async () => {
    const printed: unknown[][] = [];
    vi.spyOn(console, 'log').mockImplementation((...values: unknown[]) => {
      printed.push(values);
    });

    const broker = createBroker({
      securityLevel: 'SECURE',
    });

    // Register a tool
    broker.tool('getCurrentTime', {
      description: 'Get the current time',
      argsSchema: z.object({
        timezone: z.string().optional(),
      }),
      handler: async ({ timezone }) => {
        return new Date().toLocaleString('en-US', { timeZone: timezone });
      },
    });

    // Execute code with streaming
    const stream = broker.execute(`
  const time = await tools.getCurrentTime({ timezone: 'America/New_York' });
  console.log('Current time:', time);
  return time;
`);

    try {
      for await (const event of stream) {
        console.log(event.type, event.payload);
      }
    } finally {
      await broker.close();
    }

    expect(printed.map((line) => line[0])).toEqual([
      'session_init',
      'tool_call',
      'tool_result_applied',
      'stdout',
      'final',
    ]);
    const toolCall = printed[1]?.[1] as { toolName: string; args: unknown; answeredBy: string };
    expect(toolCall).toMatchObject({
      toolName: 'getCurrentTime',
      args: { timezone: 'America/New_York' },
      answeredBy: 'broker',
    });
    const stdout = printed[3]?.[1] as { chunk: string };
    expect(stdout.chunk).toContain('Current time:');
    const final = printed[4]?.[1] as { ok: boolean; result: string };
    expect(final.ok).toBe(true);
    expect(final.result).toMatch(/^\d{1,2}\/\d{1,2}\/\d{4}, \d{1,2}:\d{2}:\d{2}\s(AM|PM)$/);
    expect(Broker).toBe(EnclaveBroker);
  });

  it('numbers events from 1 without gaps and ends with exactly one final', async () => {
    const broker = testBroker();
    const events = await collect(broker.execute('console.log("a"); console.log("b"); return 1 + 2'));
    expect(typesOf(events)).toEqual(['session_init', 'stdout', 'stdout', 'final']);
    expect(seqsAreContiguous(events)).toBe(true);
    expect(eventOf(events, 'final').payload).toMatchObject({ ok: true, result: 3 });
    const init = eventOf(events, 'session_init');
    expect(init.payload.resumeUrl).toBe(`/sessions/${init.sessionId}/events`);
    expect(init.payload.cancelUrl).toBe(`/sessions/${init.sessionId}`);
    expect(init.payload.limits.timeout).toBe(30_000);
  });

  it('applies the limits option over the security level', async () => {
    const broker = testBroker({ securityLevel: 'SECURE', limits: { toolTimeout: 1234, maxToolCalls: 7 } });
    const session = await broker.startSession({ code: 'return 1', maxToolCalls: 100 });
    expect(session.limits).toMatchObject({ toolTimeout: 1234, maxToolCalls: 7, timeout: 15_000 });
  });

  it('caps the requested timeout and tool calls at the security level', async () => {
    const broker = testBroker({ securityLevel: 'STRICT' });
    const session = await broker.startSession({ code: 'return 1', timeout: 999_999, maxToolCalls: 3 });
    expect(session.limits.timeout).toBe(5_000);
    expect(session.limits.maxToolCalls).toBe(3);
    const events = await collect(broker.streamEvents(session.id));
    expect(eventOf(events, 'session_init').payload.securityLevel).toBe('STRICT');
  });

  it('refuses a bad request with VALIDATION_ERROR', async () => {
    const broker = testBroker();
    const empty = await rejectionOf(collect(broker.execute('')));
    expect(empty.code).toBe('VALIDATION_ERROR');
    expect(empty.message).toContain('code');
    const unknown = await rejectionOf(broker.startSession({ code: 'return 1', timeuot: 5 } as never));
    expect(unknown.code).toBe('VALIDATION_ERROR');
    const context = await rejectionOf(broker.startSession({ code: 'return 1', context: { big: 10n } }));
    expect(context.code).toBe('VALIDATION_ERROR');
    expect(broker.health().sessions.total).toBe(0);
  });

  it('gives the code a frozen copy of the context, which tool handlers see too', async () => {
    const broker = testBroker();
    let seen: unknown;
    broker.tool('whoami', {
      description: 'Reads the context',
      argsSchema: z.object({}),
      handler: (_args, executionContext) => {
        seen = executionContext.context;
        return executionContext.context.user;
      },
    });
    const events = await collect(
      broker.execute('return [context.user, await tools.whoami({})]', { context: { user: 'ada' } }),
    );
    expect(eventOf(events, 'final').payload.result).toEqual(['ada', 'ada']);
    expect(seen).toEqual({ user: 'ada' });
    expect(Object.isFrozen(seen)).toBe(true);
  });
});

describe('broker tools', () => {
  it('answers ParameterDef tools from a registry, with defaults, for names that are not identifiers', async () => {
    const tools = new ToolRegistry();
    tools.register({
      name: 'users:list',
      description: 'List users',
      parameters: { limit: { type: 'number', description: 'Max results', default: 2 } },
      handler: async (args) =>
        [
          { id: '1', name: 'Alice' },
          { id: '2', name: 'Bob' },
          { id: '3', name: 'Carol' },
        ].slice(0, args.limit as number),
    });
    const broker = testBroker({ tools });
    expect(broker.tools).toBe(tools);
    const events = await collect(
      broker.execute(`
        const two = await callTool('users:list', {});
        const one = await tools['users:list']({ limit: 1 });
        return [two.length, one[0].name];
      `),
    );
    expect(eventOf(events, 'final').payload).toMatchObject({ ok: true, result: [2, 'Alice'] });
    const applied = events.filter((event) => event.type === 'tool_result_applied');
    expect(applied.map((event) => event.payload)).toMatchObject([
      { ok: true, toolName: 'users:list', result: [{ name: 'Alice' }, { name: 'Bob' }] },
      { ok: true, result: [{ name: 'Alice' }] },
    ]);
  });

  it('answers invalid arguments with TOOL_VALIDATION_ERROR, which code can catch, without calling the handler', async () => {
    const broker = testBroker();
    let handlerCalls = 0;
    broker.tool('getUser', {
      description: 'Get a user',
      argsSchema: z.object({ id: z.string() }),
      handler: ({ id }) => {
        handlerCalls++;
        return { id };
      },
    });
    const events = await collect(
      broker.execute(`
        try {
          await tools.getUser({ id: 42 });
          return 'no error';
        } catch (error) {
          return { code: error.code, message: error.message };
        }
      `),
    );
    const result = eventOf(events, 'final').payload.result as { code: string; message: string };
    expect(result.code).toBe('TOOL_VALIDATION_ERROR');
    expect(result.message).toContain('id: Invalid input: expected string, received number');
    expect(eventOf(events, 'tool_result_applied').payload).toMatchObject({
      ok: false,
      error: { code: 'TOOL_VALIDATION_ERROR' },
    });
    expect(handlerCalls).toBe(0);
  });

  it('ends a run with TOOL_VALIDATION_ERROR when the code does not catch it', async () => {
    const broker = testBroker();
    broker.tool('getUser', {
      description: 'Get a user',
      argsSchema: z.object({ id: z.string() }),
      handler: ({ id }) => ({ id }),
    });
    const events = await collect(broker.execute('return await tools.getUser({})'));
    expect(typesOf(events).slice(-2)).toEqual(['error', 'final']);
    expect(eventOf(events, 'error').payload.code).toBe('TOOL_VALIDATION_ERROR');
    expect(eventOf(events, 'final').payload).toMatchObject({
      ok: false,
      error: { code: 'TOOL_VALIDATION_ERROR' },
    });
  });

  it('reports handler failures as TOOL_ERROR, or the EnclaveError code the handler threw', async () => {
    const broker = testBroker();
    broker.tool('broken', {
      description: 'Always fails',
      argsSchema: z.object({}),
      handler: () => {
        throw new Error('database is down');
      },
    });
    broker.tool('forbidden', {
      description: 'Refuses',
      argsSchema: z.object({}),
      handler: () => {
        throw new EnclaveError('FORBIDDEN', 'not for you');
      },
    });
    const events = await collect(
      broker.execute(`
        const outcomes = [];
        for (const name of ['broken', 'forbidden']) {
          try { await tools[name]({}); } catch (error) { outcomes.push([error.code, error.message]); }
        }
        return outcomes;
      `),
    );
    expect(eventOf(events, 'final').payload.result).toEqual([
      ['TOOL_ERROR', 'Tool broken failed: database is down'],
      ['FORBIDDEN', 'not for you'],
    ]);
  });

  it('lets toolHandler answer tools the registry does not know', async () => {
    const seen: string[] = [];
    const broker = testBroker({
      toolHandler: async (args, executionContext) => {
        seen.push(executionContext?.toolName ?? '');
        if (executionContext?.toolName === 'unknown')
          throw new EnclaveError('TOOL_NOT_FOUND', 'no such tool');
        return { echoed: args };
      },
    });
    const events = await collect(
      broker.execute(`
        const echoed = await callTool('echo:it', { a: 1 });
        let code;
        try { await tools.unknown(); } catch (error) { code = error.code; }
        return [echoed, code];
      `),
    );
    expect(eventOf(events, 'tool_call').payload.answeredBy).toBe('broker');
    expect(eventOf(events, 'final').payload.result).toEqual([{ echoed: { a: 1 } }, 'TOOL_NOT_FOUND']);
    expect(seen).toEqual(['echo:it', 'unknown']);
  });

  it('hands results to the code as JSON and refuses what cannot be serialized', async () => {
    const broker = testBroker();
    broker.tool('when', {
      description: 'A date',
      argsSchema: z.object({}),
      handler: () => ({ at: new Date(0), skipped: undefined }),
    });
    broker.tool('huge', {
      description: 'A bigint',
      argsSchema: z.object({}),
      handler: () => ({ value: 1n }),
    });
    const events = await collect(
      broker.execute(`
        const when = await tools.when({});
        let code;
        try { await tools.huge({}); } catch (error) { code = error.code; }
        return [when, code];
      `),
    );
    expect(eventOf(events, 'final').payload.result).toEqual([
      { at: '1970-01-01T00:00:00.000Z' },
      'TOOL_ERROR',
    ]);
  });
});

describe('broker.on', () => {
  it('emits session and tool events with the documented signatures, once per session', async () => {
    const loggedErrors: string[] = [];
    const ignore = () => {};
    const broker = testBroker({
      logger: { debug: ignore, info: ignore, warn: ignore, error: (message) => loggedErrors.push(message) },
    });
    broker.tool('add', {
      description: 'Adds',
      argsSchema: z.object({ a: z.number(), b: z.number() }),
      handler: ({ a, b }) => a + b,
    });
    const log: string[] = [];
    let created: Session | undefined;
    let completedWith: unknown;
    let failedWith: EnclaveError | undefined;
    broker.on('session:created', (session) => {
      created = session;
      log.push(`created:${session.status}`);
    });
    broker.on('session:completed', (session, result) => {
      completedWith = result;
      log.push(`completed:${session.status}`);
    });
    broker.on('session:error', (session, error) => {
      failedWith = error;
      log.push(`error:${session.status}`);
    });
    broker.on('tool:called', (session, tool, args) => {
      log.push(`called:${tool}:${JSON.stringify(args)}:${session.id === created?.id}`);
    });
    broker.on('tool:completed', (_session, tool, result) => {
      log.push(`completed:${tool}:${String(result)}`);
    });
    broker.on('session:created', () => {
      throw new Error('a broken listener changes nothing');
    });
    await collect(broker.execute('return await tools.add({ a: 1, b: 2 })'));
    expect(completedWith).toBe(3);
    await collect(broker.execute('throw new Error("boom")'));
    expect(failedWith).toBeInstanceOf(EnclaveError);
    expect(failedWith?.code).toBe('EXECUTION_ERROR');
    expect(log).toEqual([
      'created:pending',
      'called:add:{"a":1,"b":2}:true',
      'completed:add:3',
      'completed:completed',
      'created:pending',
      'error:error',
    ]);
    expect(loggedErrors).toEqual(['A session:created listener failed', 'A session:created listener failed']);
  });
});

describe('broker options', () => {
  it('refuses a redis that is not an ioredis client, and redis or keyPrefix used wrongly', () => {
    const notAClient = thrownBy(() => new EnclaveBroker({ redis: { get: async () => null } as never }));
    expect(notAClient.code).toBe('CONFIGURATION_ERROR');
    expect(notAClient.message).toContain('ioredis');
    const both = thrownBy(() => new EnclaveBroker({ redis: {} as never, store: new InMemorySessionStore() }));
    expect(both.code).toBe('CONFIGURATION_ERROR');
    const prefixAlone = thrownBy(() => new EnclaveBroker({ keyPrefix: 'app:' }));
    expect(prefixAlone.code).toBe('CONFIGURATION_ERROR');
    expect(prefixAlone.message).toContain('keyPrefix');
  });

  it('refuses invalid options with CONFIGURATION_ERROR', () => {
    const invalid = [
      { sessionTimeout: 0 },
      { maxConcurrentSessions: 1.5 },
      { heartbeatInterval: -1 },
      { maxEventLogSize: 0 },
      { securityLevel: 'LOOSE' },
      { mode: 'remote' },
      { tools: {} },
      { toolHandler: 'nope' },
      { limits: { toolTimeout: 0 } },
      { limits: { toolTimout: 100 } },
      { leaseTimeout: 100 },
      { store: { open: () => undefined } },
      { store: new InMemorySessionStore(), maxEventLogSize: 10 },
    ];
    for (const options of invalid) {
      expect(thrownBy(() => createBroker(options as never)).code).toBe('CONFIGURATION_ERROR');
    }
  });
});

describe('listen and close', () => {
  it('serves HTTP on a free port until closed', async () => {
    const broker = testBroker();
    expect(thrownBy(() => broker.address()).code).toBe('CONFIGURATION_ERROR');
    await broker.listen(0);
    const { port, host } = broker.address();
    expect(host).toBe('127.0.0.1');
    const response = await fetch(`http://127.0.0.1:${port}/health`);
    expect(await response.json()).toMatchObject({ status: 'ok', sessions: { active: 0, total: 0 } });
    expect((await rejectionOf(broker.listen(0))).code).toBe('CONFIGURATION_ERROR');
    await broker.close();
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
    expect((await rejectionOf(broker.listen(0))).code).toBe('SHUTTING_DOWN');
  });
});
