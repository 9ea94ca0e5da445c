import { format } from 'node:util';
import { CallIdSchema, EnclaveError, FinalPayloadSchema, RuntimeEventSchema } from '@enclave-vm/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInThreadExecutor, type InThreadExecutor } from '../src/executor/in-thread-executor.js';
import { eventTypes, runCode, sleep } from './sandbox-harness.js';

let executor: InThreadExecutor;

beforeAll(async () => {
  executor = createInThreadExecutor();
  await executor.prewarm();
});

afterAll(async () => {
  await executor.close();
});

describe('results', () => {
  it('runs the code as the body of an async function and returns its value', async () => {
    const outcome = await runCode(executor, 'return 1 + 2');
    expect(outcome.final.ok).toBe(true);
    expect(outcome.final.result).toBe(3);
    expect(eventTypes(outcome)).toEqual(['final']);
    expect(FinalPayloadSchema.parse(outcome.final)).toEqual(outcome.final);
  });

  it('supports top-level await and return of nested JSON values', async () => {
    const outcome = await runCode(
      executor,
      "await null; const value = await Promise.resolve({ list: [1, 'two', { three: 3 }], flag: true, none: null }); return value;",
    );
    expect(outcome.final.result).toEqual({ list: [1, 'two', { three: 3 }], flag: true, none: null });
  });

  it('ends ok with no result when the code returns undefined', async () => {
    const outcome = await runCode(executor, 'const x = 1;');
    expect(outcome.final.ok).toBe(true);
    expect('result' in outcome.final).toBe(false);
  });

  it.each([
    ['a BigInt', 'return 10n'],
    ['a circular object', 'const a = {}; a.self = a; return a'],
    ['a function', 'return () => 1'],
    ['a symbol', "return Symbol('s')"],
  ])('reports %s as RESULT_NOT_SERIALIZABLE without crashing', async (_name, code) => {
    const outcome = await runCode(executor, code);
    expect(outcome.final.ok).toBe(false);
    expect(outcome.error?.code).toBe('RESULT_NOT_SERIALIZABLE');
    expect(eventTypes(outcome)).toEqual(['error', 'final']);
  });

  it('serializes the result inside the guest (toJSON and getters run there)', async () => {
    const outcome = await runCode(
      executor,
      "return { when: { toJSON() { return 'serialized' } }, get computed() { return 6 * 7 }, skipped: undefined }",
    );
    expect(outcome.final.result).toEqual({ when: 'serialized', computed: 42 });
  });
});

describe('errors', () => {
  it('ends an uncaught error with EXECUTION_ERROR naming the error, as error then final', async () => {
    const outcome = await runCode(executor, "throw new TypeError('bad input')");
    expect(eventTypes(outcome)).toEqual(['error', 'final']);
    const errorEvent = outcome.events[0];
    expect(errorEvent?.type === 'error' && errorEvent.payload).toMatchObject({
      code: 'EXECUTION_ERROR',
      message: 'TypeError: bad input',
      recoverable: false,
    });
    expect(outcome.final).toMatchObject({
      ok: false,
      error: { code: 'EXECUTION_ERROR', message: 'TypeError: bad input' },
    });
  });

  it('keeps line numbers of the code as written in the stack', async () => {
    const outcome = await runCode(executor, "const a = 1;\nconst b = 2;\nthrow new Error('third line');");
    expect(outcome.error?.details).toEqual({ stack: expect.stringContaining('<input>:3') });
  });

  it('ends with the code of an uncaught error that carries a known code', async () => {
    const outcome = await runCode(
      executor,
      "const e = new Error('not there'); e.code = 'TOOL_NOT_FOUND'; throw e;",
    );
    expect(outcome.error).toMatchObject({ code: 'TOOL_NOT_FOUND', message: 'not there' });
  });

  it('treats an unknown code as an execution error', async () => {
    const outcome = await runCode(executor, "const e = new Error('odd'); e.code = 'MY_CODE'; throw e;");
    expect(outcome.error?.code).toBe('EXECUTION_ERROR');
  });

  it('describes thrown non-errors', async () => {
    const outcome = await runCode(executor, "throw 'plain string'");
    expect(outcome.error).toMatchObject({ code: 'EXECUTION_ERROR', message: "Uncaught 'plain string'" });
    const objectThrow = await runCode(executor, 'throw { reason: 42 }');
    expect(objectThrow.error?.code).toBe('EXECUTION_ERROR');
  });

  it('reports code that does not parse as SYNTAX_ERROR', async () => {
    const outcome = await runCode(executor, 'return 1 +');
    expect(outcome.error?.code).toBe('SYNTAX_ERROR');
    expect(outcome.error?.message).toContain('SyntaxError');
    expect(eventTypes(outcome)).toEqual(['error', 'final']);
  });

  it('ends at once code crafted to close the function wrapper early and leave no function', async () => {
    // QuickJS builds the async function by evaluating its source text, so such code compiles to a
    // value that is not a function; the run must still end promptly (not at its timeout), as code
    // that does not compile.
    for (const code of ['}); void ({a: 1', '}); !({a: 1']) {
      const outcome = await runCode(executor, code, { limits: { timeout: 3_000 } });
      expect(outcome.error?.code).toBe('SYNTAX_ERROR');
      expect(outcome.error?.message).toContain('closes the async function');
      expect(outcome.elapsedMs).toBeLessThan(1_000);
    }
  });

  it('reports a runtime SyntaxError (JSON.parse) as an execution error, not a syntax error', async () => {
    const outcome = await runCode(executor, "return JSON.parse('{nope')");
    expect(outcome.error?.code).toBe('EXECUTION_ERROR');
  });
});

describe('tools', () => {
  it('calls tools by property, by quoted name and through callTool, with JSON args', async () => {
    const seen: unknown[] = [];
    const outcome = await runCode(
      executor,
      `const time = await tools.getCurrentTime({ timezone: 'UTC' });
       const users = await tools['users:list']({ limit: 2 });
       const direct = await callTool('users:list', { limit: 1 });
       return { time, users, direct };`,
      {
        tools: {
          getCurrentTime: (args) => {
            seen.push(args);
            return 'noon';
          },
          'users:list': (args) => {
            seen.push(args);
            return Array.from({ length: (args as { limit: number }).limit }, (_, index) => ({ id: index }));
          },
        },
      },
    );
    expect(outcome.final.result).toEqual({
      time: 'noon',
      users: [{ id: 0 }, { id: 1 }],
      direct: [{ id: 0 }],
    });
    expect(seen).toEqual([{ timezone: 'UTC' }, { limit: 2 }, { limit: 1 }]);
    const calls = outcome.events.filter((event) => event.type === 'tool_call');
    expect(calls.map((event) => event.type === 'tool_call' && event.payload.toolName)).toEqual([
      'getCurrentTime',
      'users:list',
      'users:list',
    ]);
    const ids = calls.map((event) => (event.type === 'tool_call' ? event.payload.callId : ''));
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(CallIdSchema.safeParse(id).success).toBe(true);
    for (const event of outcome.events) expect(RuntimeEventSchema.safeParse(event).success).toBe(true);
    expect(outcome.final.stats.toolCalls).toBe(3);
  });

  it('serializes args in the guest: toJSON, getters, and omitted args', async () => {
    const seen: unknown[] = [];
    await runCode(
      executor,
      `await tools.record({ date: { toJSON() { return 'when' } }, get total() { return 2 + 3 }, gone: undefined });
       await tools.record();`,
      { tools: { record: (args) => seen.push(args) } },
    );
    expect(seen).toEqual([{ date: 'when', total: 5 }, {}]);
  });

  it('rejects args JSON cannot represent inside the guest', async () => {
    const outcome = await runCode(
      executor,
      'try { await tools.record({ big: 1n }) } catch (error) { return [error.code, error instanceof Error] }',
      { tools: { record: () => 'never' } },
    );
    expect(outcome.final.result).toEqual(['TOOL_VALIDATION_ERROR', true]);
    expect(outcome.events.some((event) => event.type === 'tool_call')).toBe(false);
  });

  it('gives the guest a tool error as an Error with its code and message', async () => {
    const outcome = await runCode(
      executor,
      'try { await tools.fail({}) } catch (error) { return { code: error.code, message: error.message, isError: error instanceof Error } }',
      {
        tools: {
          fail: () => {
            throw Object.assign(new Error('upstream down'), { code: 'TOOL_ERROR' });
          },
        },
      },
    );
    expect(outcome.final.result).toEqual({ code: 'TOOL_ERROR', message: 'upstream down', isError: true });
  });

  it('ends the run with the tool error code when the guest does not catch it', async () => {
    const outcome = await runCode(executor, 'await tools.missing()');
    expect(outcome.error).toMatchObject({ code: 'TOOL_NOT_FOUND', message: 'No tool named missing' });
  });

  it('returns undefined to the guest for a tool without result', async () => {
    const outcome = await runCode(
      executor,
      'const value = await tools.nothing(); return value === undefined',
      {
        tools: { nothing: () => undefined },
      },
    );
    expect(outcome.final.result).toBe(true);
  });

  it('runs Promise.all tool calls concurrently: all calls go out before any answer', async () => {
    const started: number[] = [];
    const outcome = await runCode(
      executor,
      'return await Promise.all([1, 2, 3, 4, 5].map((n) => tools.slow({ n })))',
      {
        tools: {
          slow: async (args) => {
            started.push(performance.now());
            await sleep(100);
            return (args as { n: number }).n * 10;
          },
        },
      },
    );
    expect(outcome.final.result).toEqual([10, 20, 30, 40, 50]);
    // Five handlers of 100 ms each, in parallel: about 100 ms, far from the 500 ms of a sequence.
    expect(outcome.elapsedMs).toBeGreaterThanOrEqual(95);
    expect(outcome.elapsedMs).toBeLessThan(400);
    expect(Math.max(...started) - Math.min(...started)).toBeLessThan(50);
    const firstCall = outcome.events.findIndex((event) => event.type === 'tool_call');
    expect(eventTypes(outcome).slice(firstCall, firstCall + 5)).toEqual(Array(5).fill('tool_call'));
  });
});

describe('tool call bookkeeping', () => {
  it('settles each call with its own answer when answers arrive out of order, across batches and rounds', async () => {
    const code = [
      'const rounds = [];',
      'for (let round = 0; round < 3; round++) {',
      '  const values = await Promise.all([0, 1, 2, 3, 4].map((n) => tools.echo({ round, n })));',
      '  rounds.push(values.map((value) => value.round * 10 + value.n).join(","));',
      '  rounds.push((await tools.echo({ round, n: 9 })).n);',
      '}',
      'return rounds;',
    ].join('\n');
    const outcome = await runCode(executor, code, {
      // Later calls answer first, each in its own tick (so in separate batches).
      tools: { echo: (args) => sleep(50 - (args as { n: number }).n * 10).then(() => args) },
    });
    expect(outcome.error).toBeUndefined();
    expect(outcome.final.result).toEqual(['0,1,2,3,4', 9, '10,11,12,13,14', 9, '20,21,22,23,24', 9]);
  });

  it('keeps answering after many sequential calls', async () => {
    const outcome = await runCode(
      executor,
      'let sum = 0; for (let i = 0; i < 2000; i++) sum += await tools.inc({ i }); return sum',
      { limits: { maxToolCalls: 2000 }, tools: { inc: (args) => (args as { i: number }).i + 1 } },
    );
    expect(outcome.final.result).toBe((2000 * 2001) / 2);
  });
});

describe('handle', () => {
  it('delivers events asynchronously, never before execute returns', async () => {
    const received: string[] = [];
    const handle = executor.execute(
      { sessionId: 'async_1', code: 'return 1', limits: (await import('./sandbox-harness.js')).testLimits() },
      (event) => received.push(event.type),
    );
    expect(received).toEqual([]);
    await handle.done;
    expect(received).toEqual(['final']);
  });

  it('validates tool results: unknown call, second answer, ended session', async () => {
    const { testLimits } = await import('./sandbox-harness.js');
    const errors: string[] = [];
    const handle = executor.execute(
      { sessionId: 'answers_1', code: 'return await tools.one()', limits: testLimits() },
      (event) => {
        if (event.type !== 'tool_call') return;
        try {
          handle.submitToolResult('call_999', { ok: true, result: 0 });
        } catch (error) {
          errors.push((error as EnclaveError).code);
        }
        handle.submitToolResult(event.payload.callId, { ok: true, result: 'first' });
        try {
          handle.submitToolResult(event.payload.callId, { ok: true, result: 'second' });
        } catch (error) {
          errors.push((error as EnclaveError).code);
        }
      },
    );
    const final = await handle.done;
    expect(final.result).toBe('first');
    expect(errors).toEqual(['TOOL_CALL_NOT_FOUND', 'TOOL_CALL_ALREADY_ANSWERED']);
    expect(() => handle.submitToolResult('call_1', { ok: true, result: 0 })).toThrow(
      expect.objectContaining({ code: 'SESSION_ENDED' }),
    );
    expect(
      EnclaveError.isInstance(
        (() => {
          try {
            handle.submitToolResult('call_1', { ok: true, result: 0 });
          } catch (error) {
            return error;
          }
        })(),
      ),
    ).toBe(true);
  });

  it('cancels a run waiting on a tool with CANCELLED', async () => {
    const outcome = await runCode(executor, 'await tools.wait()', {
      ignoreToolCalls: true,
      onStart: (handle) => setTimeout(() => handle.cancel('user pressed stop'), 30),
    });
    expect(outcome.error).toEqual({ code: 'CANCELLED', message: 'user pressed stop' });
    expect(eventTypes(outcome)).toEqual(['tool_call', 'error', 'final']);
  });

  it('ends with exactly one final even when cancelled twice or after the end', async () => {
    let handleRef: { cancel(reason?: string): void } | undefined;
    const outcome = await runCode(executor, 'return 5', { onStart: (handle) => (handleRef = handle) });
    handleRef?.cancel();
    handleRef?.cancel();
    await sleep(10);
    expect(outcome.events.filter((event) => event.type === 'final')).toHaveLength(1);
    expect(outcome.final.ok).toBe(true);
  });

  it('reports stats: duration, CPU time, tool calls and UTF-8 bytes of console output', async () => {
    const outcome = await runCode(
      executor,
      "console.log('héllo'); console.warn('ok'); await tools.a(); return 1",
      {
        tools: { a: () => 1 },
      },
    );
    const stats = outcome.final.stats;
    expect(stats.toolCalls).toBe(1);
    // 'héllo\n' is 7 bytes in UTF-8, 'ok' 2.
    expect(stats.stdoutBytes).toBe(9);
    expect(stats.durationMs).toBeGreaterThan(0);
    expect(stats.cpuTimeMs).toBeGreaterThan(0);
    expect(stats.cpuTimeMs).toBeLessThanOrEqual(stats.durationMs + 1);
  });
});

describe('console', () => {
  it('sends console.log to stdout with a trailing newline and the other levels to log events', async () => {
    const outcome = await runCode(
      executor,
      "console.log('out', 1); console.debug('d'); console.info('i'); console.warn('w', { n: 1 }); console.error('e'); console.log();",
    );
    expect(outcome.events.slice(0, -1)).toEqual([
      { type: 'stdout', payload: { chunk: 'out 1\n' } },
      { type: 'log', payload: { level: 'debug', message: 'd' } },
      { type: 'log', payload: { level: 'info', message: 'i' } },
      { type: 'log', payload: { level: 'warn', message: 'w { n: 1 }' } },
      { type: 'log', payload: { level: 'error', message: 'e' } },
      { type: 'stdout', payload: { chunk: '\n' } },
    ]);
  });

  // Each row is printed by the guest with console.log and by Node with util.format: same text.
  const FORMAT_CASES = [
    "'plain', 'two'",
    '42, -0, NaN, -Infinity, 1.5e300',
    'true, null, undefined',
    '10n',
    '[1, 2, 3]',
    `['a', "it's", 'say "hi"', 'both \\'"']`,
    '[1, 2, 3, 4, 5, 6, 7]',
    'Array.from({ length: 30 }, (_, i) => i * 7)',
    'Array.from({ length: 120 }, (_, i) => i)',
    "Array.from({ length: 10 }, (_, i) => 'item' + i)",
    "{ a: 1, b: 'two', c: [1, { d: 2 }] }",
    '{ a: { b: { c: { d: 1 } } } }',
    "(() => { const o = { name: 'o' }; o.self = o; return o })()",
    "new Map([['a', 1], ['b', { c: 2 }]])",
    "new Set([1, 'x', [2]])",
    'new Date(0)',
    '/ab+c/gi',
    'function foo() {}',
    'class Bar {}',
    '() => 1',
    'async function af() {}',
    'Object.create(null)',
    'Object.assign(Object.create(null), { x: 1 })',
    'new (class Foo { constructor() { this.x = 1 } })()',
    '[ , 1, , , 2]',
    'new Uint8Array([1, 2, 3])',
    "new Number(3), new String('ab'), [new Boolean(true)]",
    "{ aaaaaaaaaaaaaaa: 'bbbbbbbbbbbbbbbbbbbbbb', ccccccccccccccccccccc: 'dddddddddddddddddddddd', eeeee: [1, 2, 3] }",
    "'%s is %d years, %i, %f, %j %O %%', 'Bob', 42.5, '42.9', '1.5', { x: 1 }, { y: 2 }, 'extra'",
    "'%c styled', 'color: red'",
    '{ nested: [[1, [2, [3, [4]]]]] }',
    '[{ a: 1, b: 2 }, { a: 3, b: 4 }]',
    "Symbol('s'), [undefined, null], { u: undefined }",
    "'multi\\nline', ['multi\\nline']",
    "[[]], {}, [], '', ['']",
    '{ f() {}, g: function () {}, h: () => {} }',
    'Object.assign(() => {}, { a: 1 })',
    'new Map(), new Set(), [new Map([[{ a: 1 }, [1]]])]',
    "['x'.repeat(100)]",
    "{ 1: 'a', 2: 'b' }",
    'Object.assign([1, 2], { extra: true })',
    '[1.5, -2, 300000]',
    'Array.from({ length: 8 }, (_, i) => ({ i }))',
    'new Array(5)',
    '[1n, 2n, 3n, 4n, 5n, 6n, 7n]',
    "{ 'key with space': 1, valid_id: 2, $dollar: 3 }",
  ];

  it.each(FORMAT_CASES)('formats console.log(%s) like Node', async (expression) => {
    const values = new Function(`return [${expression}]`)() as unknown[];
    const outcome = await runCode(executor, `console.log(${expression})`);
    expect(outcome.stdout).toBe(`${format(...values)}\n`);
  });

  // Where Node versions disagree the guest keeps one output, whatever Node the host runs: Node 20's
  // (Node 24 prints `Symbol(k): 2` and `[byteLength]: 3`).
  it.each([
    [
      "{ 'a-b': 1, [Symbol('k')]: 2, get g() { return 1 }, set s(v) {} }",
      "{ 'a-b': 1, g: [Getter], s: [Setter], [Symbol(k)]: 2 }",
    ],
    ['new ArrayBuffer(3)', 'ArrayBuffer { [Uint8Contents]: <00 00 00>, byteLength: 3 }'],
  ])('formats console.log(%s) the same on every Node', async (expression, expected) => {
    const outcome = await runCode(executor, `console.log(${expression})`);
    expect(outcome.stdout).toBe(`${expected}\n`);
  });

  it('formats errors with their name, message and stack, and nested errors indented', async () => {
    const outcome = await runCode(
      executor,
      "console.log(new Error('boom')); const e = new TypeError('bad'); e.code = 'E_BAD'; console.log({ e });",
    );
    const [first, second] = outcome.events.map((event) =>
      event.type === 'stdout' ? event.payload.chunk : '',
    );
    expect(first).toMatch(/^Error: boom\n {4}at .*<input>:1/);
    expect(second).toMatch(/^\{\n {2}e: TypeError: bad\n {6}at .*\{\n {4}code: 'E_BAD'\n {2}\}\n\}\n$/);
  });

  it('calls a custom inspect hook inside the guest', async () => {
    const outcome = await runCode(
      executor,
      "console.log({ [Symbol.for('nodejs.util.inspect.custom')](depth) { return 'custom at ' + depth } })",
    );
    expect(outcome.stdout).toBe('custom at 2\n');
  });

  it('prints a value whose formatting throws as a placeholder instead of failing', async () => {
    const outcome = await runCode(
      executor,
      "console.log(new Proxy({}, { ownKeys() { throw new Error('nope') } })); return 'still running'",
    );
    expect(outcome.stdout).toBe('[unprintable value]\n');
    expect(outcome.final.result).toBe('still running');
  });
});

describe('context', () => {
  it('exposes the request context deep-frozen', async () => {
    const outcome = await runCode(
      executor,
      `context.user = 'changed'; context.nested.level = 99;
       let pushed = 'no';
       try { context.list.push(4); pushed = 'yes'; } catch (error) { pushed = error.name; }
       return { user: context.user, level: context.nested.level, list: context.list, pushed,
         frozen: Object.isFrozen(context) && Object.isFrozen(context.nested) && Object.isFrozen(context.list) };`,
      { context: { user: 'ada', nested: { level: 1 }, list: [1, 2, 3] } },
    );
    expect(outcome.final.result).toEqual({
      user: 'ada',
      level: 1,
      list: [1, 2, 3],
      pushed: 'TypeError',
      frozen: true,
    });
  });

  it('rejects writes in strict mode and keeps the global binding', async () => {
    const outcome = await runCode(
      executor,
      `'use strict';
       const failures = [];
       try { context.nested.level = 2 } catch (error) { failures.push(error.name) }
       try { globalThis.context = {} } catch (error) { failures.push(error.name) }
       try { delete context.nested } catch (error) { failures.push(error.name) }
       return { failures, level: context.nested.level };`,
      { context: { nested: { level: 1 } } },
    );
    expect(outcome.final.result).toEqual({ failures: ['TypeError', 'TypeError', 'TypeError'], level: 1 });
  });

  it('defaults to an empty frozen object', async () => {
    const outcome = await runCode(executor, 'return [JSON.stringify(context), Object.isFrozen(context)]');
    expect(outcome.final.result).toEqual(['{}', true]);
  });
});

describe('isolation between sessions', () => {
  it('gives every session a fresh realm: prototype changes do not carry over', async () => {
    await runCode(
      executor,
      "Object.prototype.leaked = 'yes'; Array.prototype.push = () => 0; globalThis.shared = 1;",
    );
    const outcome = await runCode(executor, 'return [({}).leaked === undefined, typeof shared, [1].push(2)]');
    expect(outcome.final.result).toEqual([true, 'undefined', 2]);
  });

  it('leaves nothing in the shared realm for the next session on the same engine instance', async () => {
    const tampering = await runCode(
      executor,
      `const Shared = console.log.constructor;
       for (const statement of ['Object.prototype.polluted = 1', "JSON.stringify = () => 'forged'", 'Array.prototype.push = null', 'globalThis.kept = 1']) {
         try { Shared(statement)() } catch (error) {}
       }
       return Shared('return [({}).polluted, JSON.stringify({ a: 1 }), typeof globalThis.kept]')()`,
    );
    expect(tampering.final.result).toEqual([null, '{"a":1}', 'undefined']);
    for (let index = 0; index < 3; index++) {
      const next = await runCode(
        executor,
        "console.log({ a: [1, 2] }, 'x'); return await tools.echo({ n: 1 })",
        {
          tools: { echo: (args) => args },
        },
      );
      expect(next.stdout).toBe('{ a: [ 1, 2 ] } x\n');
      expect(next.final.result).toEqual({ n: 1 });
    }
  });

  it('keeps the bridge working after user code rewires built-ins', async () => {
    const outcome = await runCode(
      executor,
      `JSON.stringify = () => '"forged"'; JSON.parse = () => 'forged';
       Array.prototype.push = () => { throw new Error('no push') };
       Promise.prototype.then = function () { throw new Error('no then') };
       console.log('still', { printing: true });
       const value = await tools.echo({ real: true });
       return value;`,
      { tools: { echo: (args) => args } },
    );
    expect(outcome.stdout).toBe('still { printing: true }\n');
    expect(outcome.final).toMatchObject({ ok: true, result: { real: true } });
  });
});
