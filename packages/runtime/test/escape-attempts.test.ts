import { inspect } from 'node:util';
import type { RuntimeEvent } from '@enclave-vm/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionExecutor } from '../src/executor/execution-types.js';
import { createInThreadExecutor, type InThreadExecutor } from '../src/executor/in-thread-executor.js';
import { createSandboxPool, type SandboxPool } from '../src/pool/sandbox-pool.js';
import { type RunOutcome, runCode, type TestTool } from './sandbox-harness.js';

// Attempts to reach the host from guest code, generated from tables. A secret is planted in the
// host's globalThis and process.env (inherited by the pool's threads) before anything starts. For
// every attempt: the secret appears in no event, the attempt fails or returns nothing of the host,
// every value the host received is plain JSON data, and the host's built-in prototypes are unchanged.

const SECRET = `enclave-secret-${process.pid}-${Date.now().toString(36)}`;
const HOST_PATH = process.cwd();

type GlobalWithSecret = typeof globalThis & { __ENCLAVE_ESCAPE_SECRET__?: string };

/** What an attempt must end as. */
type Expectation =
  | { kind: 'fails' }
  | { kind: 'returns'; value: unknown }
  | { kind: 'fails-or-returns-nothing' }
  | { kind: 'check'; check: (outcome: RunOutcome) => void };

interface Attempt {
  category: string;
  name: string;
  code: string;
  expect: Expectation;
}

const fails: Expectation = { kind: 'fails' };
const returns = (value: unknown): Expectation => ({ kind: 'returns', value });
const nothing: Expectation = { kind: 'fails-or-returns-nothing' };

// ---------------------------------------------------------------------------------------------
// 1. Constructor chains from every object the guest can reach.
const REACHABLE: [string, string][] = [
  ['tools', 'tools'],
  ['a tool function', 'tools.someTool'],
  ['a quoted tool function', "tools['users:list']"],
  ['callTool', 'callTool'],
  ['console', 'console'],
  ['console.log', 'console.log'],
  ['console.error', 'console.error'],
  ['context', 'context'],
  ['a nested context object', 'context.nested'],
  ['a context array', 'context.list'],
  ['a promise returned by a tool', 'tools.echo({ a: 1 })'],
  ['a promise returned by callTool', "callTool('echo', { a: 1 })"],
  ['an object result of a tool', '(await tools.echo({ a: 1 }))'],
  ['a string result of a tool', "(await tools.echo('text'))"],
  ['an array result of a tool', '(await tools.echo([1, 2]))'],
  ['an error thrown by a tool', '(await tools.fail().catch((error) => error))'],
  [
    'a limit error',
    '(await (async () => { try { await tools.missingTool() } catch (error) { return error } })())',
  ],
  ['globalThis', 'globalThis'],
  ['this', 'this'],
  ['arguments', 'arguments'],
  ['an error', "new Error('x')"],
  ['a symbol', "Symbol('s')"],
  ['JSON', 'JSON'],
  ['Reflect', 'Reflect'],
  ['an async function result', '(async () => 1)()'],
  ['a regular expression', '/re/'],
];

const PROBES: [string, (expression: string) => string, Expectation][] = [
  ['reach process', (e) => `return (${e}).constructor.constructor('return process')().env`, fails],
  [
    'look for host globals',
    (e) =>
      `return (${e}).constructor.constructor("return typeof process + typeof require + typeof globalThis.__ENCLAVE_ESCAPE_SECRET__")()`,
    returns('undefinedundefinedundefined'),
  ],
  [
    'find its global',
    // Either the session's own global, or (from console, tools and callTool) the frozen shared realm's.
    (e) =>
      `const found = (${e}).constructor.constructor('return this')(); return [found === globalThis || (Object.isFrozen(found) && Object.isFrozen(found.Object.prototype)), typeof found.process, typeof found.require]`,
    returns([true, 'undefined', 'undefined']),
  ],
  [
    'read the secret through __proto__',
    (e) => `return (${e}).__proto__.constructor.constructor('return globalThis.__ENCLAVE_ESCAPE_SECRET__')()`,
    nothing,
  ],
];

const constructorAttempts: Attempt[] = REACHABLE.flatMap(([objectName, expression]) =>
  PROBES.map(([probeName, probe, expectation]) => ({
    category: 'constructor chains',
    name: `${probeName} from ${objectName}`,
    code: probe(expression),
    expect: expectation,
  })),
);

// ---------------------------------------------------------------------------------------------
// 2. Host globals, modules and non-standard hooks.
const HOST_GLOBALS = [
  'process',
  'require',
  'module',
  'exports',
  '__dirname',
  '__filename',
  'global',
  'Buffer',
  'setTimeout',
  'setImmediate',
  'queueMicrotask',
  'fetch',
  'WebAssembly',
  'Atomics',
  'XMLHttpRequest',
  'Deno',
  'Bun',
  'std',
  'os',
  'scriptArgs',
  'print',
  'performance',
  'structuredClone',
  'FinalizationRegistry',
  '__ENCLAVE_ESCAPE_SECRET__',
];

const globalAttempts: Attempt[] = [
  ...HOST_GLOBALS.map((name) => ({
    category: 'globals',
    name: `typeof ${name}`,
    code: `return [typeof ${name}, typeof globalThis[${JSON.stringify(name)}], eval('typeof ${name}')]`,
    expect: returns(['undefined', 'undefined', 'undefined']),
  })),
  ...[
    "'fs'",
    "'node:child_process'",
    "'./pool-worker.js'",
    "'data:text/javascript,export default 1'",
    "'std'",
    "'os'",
  ].map((specifier) => ({
    category: 'modules',
    name: `import(${specifier})`,
    code: `const module = await import(${specifier}); return typeof module`,
    expect: fails,
  })),
  {
    category: 'globals',
    name: 'only the standard built-ins and the bridge globals exist',
    code: 'return Object.getOwnPropertyNames(globalThis).sort()',
    expect: {
      kind: 'check',
      check: (outcome) => {
        const names = outcome.final.result as string[];
        const standard = new Set([
          ...'AggregateError Array ArrayBuffer BigInt BigInt64Array BigUint64Array Boolean DataView Date Error EvalError Float16Array Float32Array Float64Array Function Infinity Int16Array Int32Array Int8Array InternalError Iterator JSON Map Math NaN Number Object Promise Proxy RangeError ReferenceError Reflect RegExp Set SharedArrayBuffer String Symbol SyntaxError TypeError URIError Uint16Array Uint32Array Uint8Array Uint8ClampedArray WeakMap WeakRef WeakSet decodeURI decodeURIComponent encodeURI encodeURIComponent escape eval globalThis isFinite isNaN parseFloat parseInt undefined unescape'.split(
            ' ',
          ),
          'callTool',
          'console',
          'context',
          'tools',
        ]);
        expect(names.filter((name) => !standard.has(name))).toEqual([]);
      },
    },
  },
  {
    category: 'hooks',
    name: 'Error.prepareStackTrace is inert',
    code: "Error.prepareStackTrace = (error, frames) => frames[0].getThis(); const stack = new Error('x').stack; return typeof stack",
    expect: returns('string'),
  },
  {
    category: 'hooks',
    name: 'Error.captureStackTrace does not exist',
    code: 'return typeof Error.captureStackTrace',
    expect: returns('undefined'),
  },
  {
    category: 'hooks',
    name: 'a stack carries no host frames',
    code: "try { await tools.fail() } catch (error) { return [new Error('x').stack, error.stack, String(error)] }",
    expect: {
      kind: 'check',
      check: (outcome) => expect(JSON.stringify(outcome.final.result)).not.toContain(HOST_PATH),
    },
  },
  {
    category: 'hooks',
    name: 'arguments.callee.caller reaches no bridge function',
    code: 'function probe() { return probe.caller } const look = (read) => { try { return typeof read() } catch (error) { return error.name } }; return [typeof probe(), look(() => callTool.caller), look(() => console.log.caller), look(() => tools.x.caller)]',
    expect: returns(['undefined', 'TypeError', 'TypeError', 'TypeError']),
  },
  {
    category: 'hooks',
    name: 'the strict bridge functions refuse caller and arguments',
    code: 'const results = []; for (const fn of [callTool, console.log, tools.x]) { try { results.push(typeof fn.arguments) } catch (error) { results.push(error.name) } } return results',
    expect: {
      kind: 'check',
      check: (outcome) => {
        for (const value of outcome.final.result as string[])
          expect(['TypeError', 'undefined', 'object']).toContain(value);
      },
    },
  },
];

// ---------------------------------------------------------------------------------------------
// 3. Prototype pollution (the host's prototypes are checked after every attempt).
const POLLUTERS = [
  'Object.prototype.polluted = 1',
  'Array.prototype.polluted = 1',
  'Function.prototype.polluted = 1',
  'String.prototype.polluted = 1',
  'Promise.prototype.then = () => 1',
  '({}).__proto__.polluted = 1',
  "Object.defineProperty(Object.prototype, 'polluted', { get() { return 1 } })",
  'tools.__proto__.polluted = 1',
  'callTool.__proto__.polluted = 1',
  'console.log.__proto__.polluted = 1',
  'Object.getPrototypeOf(context).polluted = 1',
  'Object.getPrototypeOf(await tools.echo({})).polluted = 1',
  'Object.getPrototypeOf(await tools.fail().catch((error) => error)).polluted = 1',
  'Object.prototype.toJSON = function () { return "forged" }',
  "Object.defineProperty(Array.prototype, '0', { set() { throw new Error('trap') } })",
];

const pollutionAttempts: Attempt[] = [
  ...POLLUTERS.map((statement) => ({
    category: 'prototype pollution',
    name: statement,
    code: `${statement}; return ({}).polluted`,
    expect: { kind: 'check', check: () => undefined } as Expectation,
  })),
  {
    category: 'prototype pollution',
    name: 'a result with a __proto__ key',
    code: `return JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}')`,
    expect: {
      kind: 'check',
      check: (outcome) => {
        const result = outcome.final.result as Record<string, unknown>;
        expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
        expect(Object.hasOwn(result, '__proto__')).toBe(true);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      },
    },
  },
  {
    category: 'prototype pollution',
    name: 'tool args with a __proto__ key merged by the host tool',
    code: `return await tools.merge(JSON.parse('{"__proto__": {"polluted": true}, "safe": 1}'))`,
    expect: returns({ safe: 1, merged: true }),
  },
];

// ---------------------------------------------------------------------------------------------
// 4. toJSON, getters and proxies in args and results; inspect hooks.
const VALUE_TRICKS: [string, string][] = [
  ['toJSON', '({ toJSON() { return { replaced: true } } })'],
  ['a getter', '({ get value() { return 42 } })'],
  [
    'a proxy',
    "new Proxy({}, { get: (target, key) => key === 'toJSON' ? undefined : 'trapped', ownKeys: () => ['a'], getOwnPropertyDescriptor: () => ({ value: 'trapped', enumerable: true, configurable: true }) })",
  ],
  ['an inspect hook', "({ [Symbol.for('nodejs.util.inspect.custom')]: () => 'hooked', plain: 1 })"],
  ['a function property', '({ fn() { return 1 }, kept: 1 })'],
  ['a symbol key', "({ [Symbol('s')]: 1, kept: 1 })"],
  ['a class instance', 'new (class Secretive { constructor() { this.kept = 1 } })()'],
  ['a date', 'new Date(0)'],
  ['nested toJSON returning a function', '({ inner: { toJSON() { return () => 1 } }, kept: 1 })'],
  ['a proxy around an array', 'new Proxy([1, 2, 3], {})'],
];

const valueAttempts: Attempt[] = VALUE_TRICKS.flatMap(([name, expression]) => [
  {
    category: 'values in args',
    name: `${name} in tool args`,
    code: `return await tools.record(${expression})`,
    expect: { kind: 'check', check: () => undefined } as Expectation,
  },
  {
    category: 'values in results',
    name: `${name} as the result`,
    code: `return ${expression}`,
    expect: { kind: 'check', check: () => undefined } as Expectation,
  },
]);

const throwingValueAttempts: Attempt[] = [
  {
    category: 'values in args',
    name: 'a throwing getter in tool args',
    code: "try { await tools.record({ get bad() { throw new Error('getter') } }) } catch (error) { return error.code }",
    expect: returns('TOOL_VALIDATION_ERROR'),
  },
  {
    category: 'values in results',
    name: 'a throwing toJSON in the result',
    code: "return { toJSON() { throw new Error('no') } }",
    expect: fails,
  },
  {
    category: 'values in results',
    name: 'a revoked proxy as the result',
    code: 'const { proxy, revoke } = Proxy.revocable({}, {}); revoke(); return proxy',
    expect: fails,
  },
];

// ---------------------------------------------------------------------------------------------
// 5. Tool names that are special on the host.
const SPECIAL_NAMES = [
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '__defineGetter__',
  'prototype',
  'then',
  'toJSON',
  'caller',
];

const nameAttempts: Attempt[] = SPECIAL_NAMES.flatMap((name) => [
  {
    category: 'tool names',
    name: `callTool(${JSON.stringify(name)})`,
    code: `try { await callTool(${JSON.stringify(name)}, { x: 1 }) } catch (error) { return error.code }`,
    expect: returns('TOOL_NOT_FOUND'),
  },
  {
    category: 'tool names',
    name: `tools[${JSON.stringify(name)}]`,
    code: `const tool = tools[${JSON.stringify(name)}]; if (typeof tool !== 'function') return 'not a function'; try { await tool({ x: 1 }) } catch (error) { return error.code }`,
    expect: returns(name === 'then' || name === 'toJSON' ? 'not a function' : 'TOOL_NOT_FOUND'),
  },
]);

// ---------------------------------------------------------------------------------------------
// 6. The formatter realm: what user code can observe while its values are being printed.
const REALM_PROBE =
  "const seen = []; const guestRealm = (value) => value === null || (typeof value !== 'object' && typeof value !== 'function') || value instanceof Object;";
const formatterAttempts: Attempt[] = [
  [
    'proxy traps',
    'console.log(new Proxy({ a: 1 }, { ownKeys(...args) { seen.push(...args); return Reflect.ownKeys(args[0]) }, getOwnPropertyDescriptor(...args) { seen.push(...args); return Reflect.getOwnPropertyDescriptor(args[0], args[1]) }, get(...args) { seen.push(...args); return Reflect.get(...args) }, getPrototypeOf(...args) { seen.push(...args); return Object.prototype } }))',
  ],
  [
    'an inspect hook',
    "console.log({ [Symbol.for('nodejs.util.inspect.custom')](...args) { seen.push(this, ...args); return 'x' } })",
  ],
  [
    'toString and toPrimitive',
    "const error = new Error('m'); Object.defineProperty(error, 'name', { get() { seen.push(this); return { [Symbol.toPrimitive](...args) { seen.push(...args); return 'N' }, toString() { seen.push(this); return 'N' } } } }); console.log(error)",
  ],
  [
    'a getter on a prototype',
    'class Probe { get visible() { seen.push(this); return 1 } } console.log(Object.assign(new Probe(), { own: 1 }))',
  ],
  [
    'a regular expression flags getter',
    "const re = /x/g; Object.defineProperty(re, 'flags', { get() { seen.push(this); return 'g' } }); console.log(re)",
  ],
  ['a map', 'console.log(new Map([[{ k: 1 }, { v: 1 }]]))'],
  [
    'a console call inside a hook',
    "console.log({ [Symbol.for('nodejs.util.inspect.custom')]() { console.log({ nested: true }); return 'outer' } })",
  ],
  [
    'a throwing hook',
    "console.log({ [Symbol.for('nodejs.util.inspect.custom')]() { throw new Error('hook failed') } })",
  ],
].map(([name, statement]) => ({
  category: 'formatter realm',
  name: `${name} see only values of the guest realm`,
  code: `${REALM_PROBE} ${statement}; return seen.every(guestRealm)`,
  expect: returns(true),
}));

// ---------------------------------------------------------------------------------------------
// 7. The shared realm (console, tools and callTool belong to it): frozen, nothing can be left there.
const SHARED = 'const Shared = console.log.constructor; const inShared = (code) => Shared(code)();';
const TAMPERING = [
  'Object.prototype.polluted = 1',
  'Array.prototype.push = function () { return 0 }',
  "JSON.stringify = function () { return 'forged' }",
  'Function.prototype.call = null',
  'String.prototype.slice = null',
  'Map.prototype.get = null',
  'Reflect.apply = null',
  'Proxy.revocable = null',
  "globalThis.stolen = 'yes'",
  "Object.defineProperty(Object.prototype, 'then', { get() { return 1 } })",
  'Object.setPrototypeOf(Array.prototype, null)',
  'Object.getPrototypeOf([][Symbol.iterator]()).next = null',
  'Object.getPrototypeOf(function* () {}).prototype.next = null',
  'Object.getPrototypeOf(Uint8Array).prototype.set = null',
  'Error.prototype.toString = null',
];
const sharedRealmAttempts: Attempt[] = [
  ...TAMPERING.map((statement) => ({
    category: 'shared realm',
    name: `tamper: ${statement}`,
    code: `${SHARED} try { inShared(${JSON.stringify(statement)}) } catch (error) {}
      return [inShared('return ({}).polluted'), inShared('return JSON.stringify({ a: 1 })'), inShared("return typeof globalThis.stolen"), inShared('return typeof Array.prototype.push')]`,
    expect: returns([null, '{"a":1}', 'undefined', 'function']),
  })),
  {
    category: 'shared realm',
    name: 'an indirect eval cannot declare globals there',
    code: `${SHARED} const sharedEval = inShared('return eval'); try { sharedEval('var leaked = 1') } catch (error) { return error.name } return 'declared'`,
    expect: returns('TypeError'),
  },
  {
    category: 'shared realm',
    name: 'everything reachable there is frozen',
    code: `${SHARED} return inShared("return [globalThis, Object.prototype, Array.prototype, Function.prototype, JSON, Object.getPrototypeOf([][Symbol.iterator]()), Object.getPrototypeOf(async function () {}), Object.getPrototypeOf(Object.getPrototypeOf((function* () {})()))].every(Object.isFrozen)")`,
    expect: returns(true),
  },
  {
    category: 'shared realm',
    name: 'its global holds no host natives and no helpers',
    code: `${SHARED} return inShared('return Object.getOwnPropertyNames(globalThis).filter((name) => /stop|format|fulfilled|rejected|bridge|helper|native|process|require/i.test(name))')`,
    expect: returns([]),
  },
  {
    category: 'shared realm',
    name: 'its FinalizationRegistry is gone',
    code: `${SHARED} return inShared('return typeof FinalizationRegistry')`,
    expect: returns('undefined'),
  },
  {
    category: 'shared realm',
    name: 'promises, errors and results of tools belong to the session realm',
    code: `const promise = tools.echo({ a: 1 }); const result = await promise; const error = await tools.fail().catch((reason) => reason);
      return [promise instanceof Promise, result instanceof Object, error instanceof Error, Array.isArray(await tools.echo([1])) && (await tools.echo([1])) instanceof Array]`,
    expect: returns([true, true, true, true]),
  },
];

// ---------------------------------------------------------------------------------------------
// 8. Leftovers: code that tries to outlive its session.
const leftoverAttempts: Attempt[] = [
  {
    category: 'leftovers',
    name: 'an endless microtask chain after returning',
    code: 'Promise.resolve().then(function again() { globalThis.leftover = 1; return Promise.resolve().then(again) }); return 1',
    expect: fails,
  },
  {
    category: 'leftovers',
    name: 'a pending promise that would write later',
    code: "tools.echo({}).then(() => { globalThis.later = 1 }); return 'left'",
    expect: returns('left'),
  },
];

const ATTEMPTS: Attempt[] = [
  ...constructorAttempts,
  ...globalAttempts,
  ...pollutionAttempts,
  ...valueAttempts,
  ...throwingValueAttempts,
  ...nameAttempts,
  ...formatterAttempts,
  ...sharedRealmAttempts,
  ...leftoverAttempts,
];

// ---------------------------------------------------------------------------------------------
const received: unknown[] = [];

function remember(value: unknown): unknown {
  received.push(value);
  return value;
}

const TOOLS: Record<string, TestTool> = {
  echo: (args) => remember(args),
  record: (args) => {
    remember(args);
    // Host code that inspects what it got: nothing of the guest can run here.
    inspect(args, { depth: 10 });
    return args;
  },
  merge: (args) => {
    remember(args);
    const merged = Object.assign({}, args as object, { merged: true }) as Record<string, unknown>;
    const spread = { ...(args as object) } as Record<string, unknown>;
    return { safe: merged.safe, merged: spread !== undefined && merged.merged };
  },
  fail: () => {
    throw Object.assign(new Error('tool failed'), { code: 'TOOL_ERROR' });
  },
};

/** Plain JSON data of this realm: no functions, symbols, getters or foreign prototypes. */
function expectPlainJson(value: unknown, path = 'value'): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    expect(Number.isFinite(value), path).toBe(true);
    return;
  }
  expect(typeof value, path).toBe('object');
  const prototype = Object.getPrototypeOf(value);
  expect(
    prototype === Object.prototype || prototype === Array.prototype,
    `${path} has a foreign prototype`,
  ).toBe(true);
  for (const key of Reflect.ownKeys(value as object)) {
    expect(typeof key, `${path} has a symbol key`).toBe('string');
    const descriptor = Object.getOwnPropertyDescriptor(value, key) as PropertyDescriptor;
    if (Array.isArray(value) && key === 'length') continue;
    expect('value' in descriptor, `${path}.${String(key)} is an accessor`).toBe(true);
    expectPlainJson(descriptor.value, `${path}.${String(key)}`);
  }
}

const PROTOTYPES: [string, object][] = [
  ['Object.prototype', Object.prototype],
  ['Array.prototype', Array.prototype],
  ['Function.prototype', Function.prototype],
  ['String.prototype', String.prototype],
  ['Promise.prototype', Promise.prototype],
  ['Error', Error],
];

function snapshotHost(): string {
  const parts = PROTOTYPES.map(([name, target]) => {
    const keys = Reflect.ownKeys(target).map((key) => {
      const descriptor = Object.getOwnPropertyDescriptor(target, key) as PropertyDescriptor;
      return `${String(key)}:${typeof descriptor.value}:${descriptor.get === undefined ? '' : 'get'}`;
    });
    return `${name}=${keys.join(',')}`;
  });
  parts.push(`globalThis=${Object.keys(globalThis).sort().join(',')}`);
  parts.push(`prepareStackTrace=${typeof (Error as { prepareStackTrace?: unknown }).prepareStackTrace}`);
  return parts.join('\n');
}

function checkAttempt(attempt: Attempt, outcome: RunOutcome, before: string): void {
  const eventsText = JSON.stringify(outcome.events satisfies RuntimeEvent[]);
  expect(eventsText).not.toContain(SECRET);
  expect(eventsText).not.toContain(HOST_PATH);
  expect(snapshotHost()).toBe(before);
  const plain = {} as Record<string, unknown>;
  expect(plain.polluted).toBeUndefined();
  expect(([] as unknown as Record<string, unknown>).polluted).toBeUndefined();
  expect(JSON.stringify({ a: 1 })).toBe('{"a":1}');
  expect((globalThis as GlobalWithSecret).__ENCLAVE_ESCAPE_SECRET__).toBe(SECRET);
  if (outcome.final.ok && outcome.final.result !== undefined) expectPlainJson(outcome.final.result, 'result');
  for (const [index, value] of received.entries())
    if (value !== undefined) expectPlainJson(value, `tool args ${index}`);
  const expectation = attempt.expect;
  switch (expectation.kind) {
    case 'fails':
      expect(outcome.final.ok, `${attempt.name} should fail`).toBe(false);
      break;
    case 'returns':
      expect(outcome.final, attempt.name).toMatchObject({ ok: true, result: expectation.value });
      break;
    case 'fails-or-returns-nothing':
      expect(!outcome.final.ok || outcome.final.result === undefined, attempt.name).toBe(true);
      break;
    case 'check':
      expectation.check(outcome);
      break;
  }
}

const CONTEXT = { user: 'guest', nested: { level: 1 }, list: [1, 2, 3] };

let inThread: InThreadExecutor;
let pool: SandboxPool;
let hostBefore: string;

beforeAll(async () => {
  (globalThis as GlobalWithSecret).__ENCLAVE_ESCAPE_SECRET__ = SECRET;
  process.env.ENCLAVE_ESCAPE_SECRET = SECRET;
  hostBefore = snapshotHost();
  inThread = createInThreadExecutor();
  pool = createSandboxPool({ size: 2, warmInstances: 2 });
  await Promise.all([inThread.prewarm(), pool.ready()]);
});

afterAll(async () => {
  await Promise.all([inThread.close(), pool.close()]);
  delete (globalThis as GlobalWithSecret).__ENCLAVE_ESCAPE_SECRET__;
  delete process.env.ENCLAVE_ESCAPE_SECRET;
});

it('has at least 100 attempts over every category', () => {
  expect(ATTEMPTS.length).toBeGreaterThanOrEqual(100);
  expect(new Set(ATTEMPTS.map((attempt) => attempt.category)).size).toBeGreaterThanOrEqual(8);
});

const executors: [string, () => SessionExecutor][] = [
  ['in the calling thread', () => inThread],
  ['on the worker-thread pool', () => pool],
];

describe.each(executors)('escape attempts %s', (_where, executor) => {
  it.each(ATTEMPTS.map((attempt) => [`${attempt.category}: ${attempt.name}`, attempt] as const))(
    '%s',
    async (_title, attempt) => {
      received.length = 0;
      const outcome = await runCode(executor(), attempt.code, {
        tools: TOOLS,
        context: CONTEXT,
        limits: { timeout: 1_000, maxCpuTime: 1_000 },
      });
      checkAttempt(attempt, outcome, hostBefore);
    },
  );
});
