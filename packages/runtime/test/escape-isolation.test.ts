import type { LogFields, Logger } from '@enclave-vm/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandboxPool, type SandboxPool } from '../src/pool/sandbox-pool.js';
import { type RunOutcome, runCode } from './sandbox-harness.js';

// The escape suite's second half: what one session could do to the others on its thread. Every
// class found by the red-team pass is here with its variants: reading engine memory and what
// earlier sessions left there, predicting or sharing Math.random, and holding or breaking the
// thread (values nested thousands deep, getters run where the host cannot interrupt them, C
// built-ins that never poll the interrupt handler, bursts of spinning sessions). Sessions run on a
// pool of one thread, so every bomb shares its thread with the sibling session that must still end
// normally, and the pool's watchdog (which would end every session of the thread) must never fire.

const errors: { message: string; fields: LogFields | undefined }[] = [];
const logger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (message, fields) => errors.push({ message, fields }),
};

let pool: SandboxPool;

beforeAll(async () => {
  pool = createSandboxPool({ size: 1, warmInstances: 2, maxSessionsPerThread: 1100, logger });
  await pool.ready();
});

afterAll(async () => {
  await pool.close();
});

/** Everything a run showed a user, as one text. */
function seen(outcome: RunOutcome): string {
  return JSON.stringify(outcome.events);
}

/**
 * Runs a bomb and, beside it on the same thread, a sibling that waits for a tool and returns.
 * Returns the bomb's outcome after checking the sibling ended normally and the watchdog stayed
 * quiet.
 */
async function bombWithSibling(code: string, limits: Record<string, number> = {}): Promise<RunOutcome> {
  const logged = errors.length;
  const bomb = runCode(pool, code, { limits: { timeout: 600, maxCpuTime: 600, ...limits } });
  const sibling = runCode(pool, 'const answer = await tools.later({ n: 41 }); return answer + 1', {
    limits: { timeout: 10_000, maxCpuTime: 10_000 },
    tools: {
      later: (args) => new Promise((resolve) => setTimeout(() => resolve((args as { n: number }).n), 30)),
    },
  });
  const [bombOutcome, siblingOutcome] = await Promise.all([bomb, sibling]);
  expect(siblingOutcome.final).toMatchObject({ ok: true, result: 42 });
  expect(bombOutcome.error?.code).not.toBe('WORKER_CRASHED');
  expect(errors.slice(logged)).toEqual([]);
  return bombOutcome;
}

describe('class 1: engine memory and what earlier sessions left there', () => {
  const windows: [string, string][] = [
    [
      'a growable SharedArrayBuffer (the red-team finding)',
      'const s = new SharedArrayBuffer(1, { maxByteLength: 1 << 20 }); s.grow(1 << 20); const u = new Uint8Array(s); let n = 0; for (const b of u) if (b) n++; return n',
    ],
    [
      'SharedArrayBuffer from the shared realm',
      "return console.log.constructor('return new SharedArrayBuffer(8)')()",
    ],
    ['Atomics', 'return Atomics.load(new Int32Array(4), 0)'],
    [
      'Atomics from the shared realm',
      "return console.log.constructor('return Atomics')().load(new Int32Array(4), 0)",
    ],
    [
      'a resizable ArrayBuffer grown',
      'const b = new ArrayBuffer(1, { maxByteLength: 1 << 20 }); b.resize(1 << 20); return 1',
    ],
    [
      'TypedArray.prototype.with on a buffer shrunk by valueOf',
      'const ab = new ArrayBuffer(4096, { maxByteLength: 4096 }); const ta = new Uint8Array(ab); return ta.with(0, { valueOf() { ab.resize(8); return 1 } }).length',
    ],
    [
      'a typed array method on a buffer detached by transfer',
      'const ab = new ArrayBuffer(4096); const ta = new Uint8Array(ab); return ta.with(0, { valueOf() { ab.transfer(8); return 1 } }).length',
    ],
    ['transferToFixedLength', 'return new ArrayBuffer(8).transferToFixedLength(1 << 20).byteLength'],
    [
      'resize reached through the shared realm',
      "const AB = console.log.constructor('return ArrayBuffer')(); const b = new AB(1, { maxByteLength: 1 << 20 }); b.resize(1 << 20); return 1",
    ],
  ];

  it.each(windows)('refuses %s', async (_name, code) => {
    const outcome = await runCode(pool, code);
    expect(outcome.final.ok).toBe(false);
    expect(outcome.error?.code).toBe('EXECUTION_ERROR');
    expect(outcome.error?.message).toMatch(/is not defined|not a function|undefined/);
  });

  it('has no SharedArrayBuffer, Atomics or buffer resizing in either realm', async () => {
    const outcome = await runCode(
      pool,
      "const shared = console.log.constructor('return globalThis')(); return [globalThis, shared].map((g) => [typeof g.SharedArrayBuffer, typeof g.Atomics, typeof g.ArrayBuffer.prototype.resize, typeof g.ArrayBuffer.prototype.transfer, typeof g.ArrayBuffer.prototype.transferToFixedLength])",
    );
    expect(outcome.final.result).toEqual([
      ['undefined', 'undefined', 'undefined', 'undefined', 'undefined'],
      ['undefined', 'undefined', 'undefined', 'undefined', 'undefined'],
    ]);
  });

  it("never shows a session another session's context, results, output or code, across 1,000 sessions on one thread", async () => {
    const tag = `s${process.pid.toString(36)}x`;
    // Each session plants its secret everywhere it can (context, a global, stdout, a tool call, a
    // long-lived buffer, its code), then reads every byte it can reach and reports whatever is not
    // zero: through typed arrays over fresh and large buffers, and through each memory window.
    const code = (index: number) => `
      const mine = context.secret + ':code${index}';
      globalThis.kept = mine.repeat(50);
      console.log(mine);
      const echoed = await tools.echo({ mine });
      const held = new Uint8Array(4096); for (let i = 0; i < held.length; i++) held[i] = mine.charCodeAt(i % mine.length);
      const found = [];
      const scan = (bytes) => { let text = ''; for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) text += String.fromCharCode(bytes[i]); if (text) found.push(text.slice(0, 10000)); };
      for (const size of [16, 4096, 1 << 16]) scan(new Uint8Array(new ArrayBuffer(size)));
      scan(new Uint8Array(new ArrayBuffer(8, { maxByteLength: 1 << 20 })));
      for (const attempt of [
        () => { const s = new SharedArrayBuffer(1, { maxByteLength: 1 << 20 }); s.grow(1 << 20); scan(new Uint8Array(s)) },
        () => { const b = new ArrayBuffer(1, { maxByteLength: 1 << 20 }); b.resize(1 << 20); scan(new Uint8Array(b)) },
        () => { const ab = new ArrayBuffer(1 << 16, { maxByteLength: 1 << 16 }); const ta = new Uint8Array(ab); scan(ta.with(0, { valueOf() { ab.resize(8); return 1 } })) },
        () => scan(new Uint8Array(console.log.constructor('return new SharedArrayBuffer(1 << 16)')())),
      ]) { try { attempt() } catch {} }
      return { echoed: echoed.mine, found, random: [Math.random(), Math.random()] };
    `;
    const outcomes: RunOutcome[] = [];
    const secrets: string[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const runs: Promise<RunOutcome>[] = [];
      for (let index = batch * 100; index < batch * 100 + 100; index++) {
        const secret = `${tag}${index}q${Math.random().toString(36).slice(2, 10)}`;
        secrets.push(secret);
        runs.push(
          runCode(pool, code(index), {
            context: { secret },
            tools: { echo: (args) => args },
            // A hundred sessions share the thread at once: their time limits are not what is tested.
            limits: { timeout: 120_000, maxCpuTime: 120_000, toolTimeout: 120_000 },
          }),
        );
      }
      outcomes.push(...(await Promise.all(runs)));
    }
    expect(outcomes.length).toBe(1000);
    const randoms = new Set<number>();
    for (const [index, outcome] of outcomes.entries()) {
      expect(outcome.final.ok, `session ${index}: ${JSON.stringify(outcome.final.error)}`).toBe(true);
      const result = outcome.final.result as { echoed: string; found: string[]; random: number[] };
      expect(result.echoed).toBe(`${secrets[index]}:code${index}`);
      const shown = seen(outcome);
      // Its own secret, and no other session's (a tag of this run followed by a session number).
      for (const match of shown.matchAll(new RegExp(`${tag}(\\d+)q`, 'g')))
        expect(match[1]).toBe(String(index));
      expect(result.found).toEqual([]);
      for (const value of result.random) randoms.add(value);
    }
    expect(randoms.size).toBe(2000);
  }, 180_000);
});

describe('Math.random', () => {
  it('is seeded for each session from the host, with no state carried from one session to the next', async () => {
    const code =
      "return [Math.random(), Math.random(), Math.random(), console.log.constructor('return Math.random()')()]";
    const sequences = await Promise.all(Array.from({ length: 50 }, () => runCode(pool, code)));
    const values = sequences.flatMap((outcome) => outcome.final.result as number[]);
    expect(values.every((value) => value >= 0 && value < 1)).toBe(true);
    expect(new Set(values).size).toBe(values.length);
    // Not a continuation: no session starts with a value another session produced.
    const firsts = new Set(sequences.map((outcome) => (outcome.final.result as number[])[0]));
    const later = sequences.flatMap((outcome) => (outcome.final.result as number[]).slice(1));
    expect(later.some((value) => firsts.has(value))).toBe(false);
    // Roughly uniform: 200 values, each tenth of [0, 1) holds some.
    const tenths = new Set(values.map((value) => Math.floor(value * 10)));
    expect(tenths.size).toBe(10);
  });
});

describe('class 2: one session holding or breaking its thread', () => {
  const deep = 'let o = []; for (let i = 0; i < 6000; i++) o = [o];';
  const nested: [string, string, string][] = [
    ['a deeply nested result', `${deep} return o`, 'JSON_TOO_DEEP'],
    ['deeply nested tool arguments', `${deep} return await tools.x(o)`, 'JSON_TOO_DEEP'],
    [
      'deeply nested arguments, caught',
      `${deep} try { await callTool('x', { o }) } catch (e) { return e.code }`,
      '',
    ],
    [
      'a deeply nested object result',
      'let o = {}; for (let i = 0; i < 6000; i++) o = { o }; return o',
      'JSON_TOO_DEEP',
    ],
    [
      'a deeply nested value logged',
      `${deep} console.log(o); console.log(JSON.stringify(o).length); return 1`,
      '',
    ],
    ['a deeply nested value thrown', `${deep} throw o`, 'EXECUTION_ERROR'],
  ];

  it.each(nested)('ends only itself: %s', async (_name, code, expected) => {
    const outcome = await bombWithSibling(code, { timeout: 3000, maxCpuTime: 3000 });
    if (expected === '') expect(outcome.final.ok).toBe(true);
    else expect(outcome.error?.code).toBe(expected);
  });

  it('refuses a deeply nested tool result inside the guest, which goes on', async () => {
    let value: unknown = [];
    for (let level = 0; level < 6000; level++) value = [value];
    const outcome = await runCode(
      pool,
      "try { await tools.deep() } catch (e) { return e.code + ': ' + e.message }",
      {
        tools: { deep: () => value },
      },
    );
    expect(outcome.final.result).toBe('JSON_TOO_DEEP: The tool result is nested deeper than 512 levels');
  });

  it('refuses a deeply nested context with VALIDATION_ERROR', async () => {
    let value: unknown = [];
    for (let level = 0; level < 6000; level++) value = [value];
    const outcome = await runCode(pool, 'return 1', { context: { value } });
    expect(outcome.error?.code).toBe('VALIDATION_ERROR');
  });

  const getters: [string, string][] = [
    [
      'a thrown object whose getters loop',
      'throw { get name() { for (;;) {} }, get message() { for (;;) {} } }',
    ],
    [
      'a thrown object whose stack getter loops',
      'throw { name: "E", message: "m", get stack() { for (;;) {} } }',
    ],
    [
      'a thrown error whose code getter loops',
      'const e = new Error("x"); Object.defineProperty(e, "code", { get() { for (;;) {} } }); throw e',
    ],
    [
      'a rejection through a promise capability with a species constructor',
      'class Evil extends Promise { static get [Symbol.species]() { return function (executor) { executor(() => {}, () => {}); throw { get name() { for (;;) {} } } } } } const p = Evil.resolve(1); return p.then(() => 1)',
    ],
    [
      'a value thrown from a function made with the Function constructor',
      "const f = console.log.constructor('throw { get name() { for (;;) {} }, get message() { for (;;) {} } }'); f()",
    ],
    [
      'a function forged in the shared realm returned as a rejection',
      "return Promise.reject(console.log.constructor('return { get message() { for (;;) {} } }')())",
    ],
    [
      'a thrown proxy whose traps loop',
      'throw new Proxy({}, { get() { for (;;) {} }, getOwnPropertyDescriptor() { for (;;) {} } })',
    ],
    [
      'a thrown function whose name getter loops',
      'const f = function () {}; Object.defineProperty(f, "name", { get() { for (;;) {} } }); throw f',
    ],
  ];

  it.each(getters)('keeps the thread when the host describes %s', async (_name, code) => {
    const outcome = await bombWithSibling(code);
    expect(outcome.final.ok).toBe(false);
  });

  const loops: [string, string][] = [
    [
      'includes over an array-like of length 2 ** 53 - 1',
      "return [].includes.call({ length: 2 ** 53 - 1 }, 'x')",
    ],
    ['concat of a sparse array of length 2 ** 32 - 1', 'return Array(2 ** 32 - 1).concat([1]).length'],
    ['indexOf over an array-like', "return [].indexOf.call({ length: 2 ** 53 - 1 }, 'x')"],
    ['lastIndexOf over an array-like', "return [].lastIndexOf.call({ length: 2 ** 53 - 1 }, 'x')"],
    ['join of a sparse array', 'return Array(2 ** 32 - 1).join().length'],
    ['fill of an array-like', 'Array.prototype.fill.call({ length: 2 ** 53 - 1 }, 1); return 1'],
    ['reverse of an array-like', 'Array.prototype.reverse.call({ length: 2 ** 53 - 1 }); return 1'],
    [
      'copyWithin of an array-like',
      'Array.prototype.copyWithin.call({ length: 2 ** 53 - 1 }, 1, 0); return 1',
    ],
    ['forEach over a sparse array', 'Array(2 ** 32 - 1).forEach(() => {}); return 1'],
    ['every over a sparse array', 'return Array(2 ** 32 - 1).every(() => true)'],
    ['find over an array-like', 'return Array.prototype.find.call({ length: 2 ** 53 - 1 }, () => false)'],
    ['reduce over a sparse array', 'return Array(2 ** 32 - 1).reduce((a) => a, 0)'],
    ['sort of an array-like', 'Array.prototype.sort.call({ length: 2 ** 32 - 1 }); return 1'],
    ['shift of an array-like', 'Array.prototype.shift.call({ length: 2 ** 53 - 1 }); return 1'],
    ['unshift of an array-like', 'Array.prototype.unshift.call({ length: 2 ** 53 - 2 }, 1); return 1'],
    ['splice of an array-like', 'Array.prototype.splice.call({ length: 2 ** 53 - 1 }, 0, 1); return 1'],
    ['slice of a sparse array', 'return Array(2 ** 32 - 1).slice(1).length'],
    ['toReversed of an array-like', 'return Array.prototype.toReversed.call({ length: 2 ** 32 - 1 }).length'],
    ['flat of a nested sparse array', 'return [Array(2 ** 32 - 1)].flat().length'],
    ['flatMap returning a sparse array', 'return [1].flatMap(() => Array(2 ** 32 - 1)).length'],
    ['concat with a sparse argument', 'return [].concat(Array(2 ** 32 - 1)).length'],
    [
      'concat whose getter grows a later argument',
      'const later = [1]; const first = [1]; Object.defineProperty(first, 0, { get() { later.length = 2 ** 32 - 1; return 1 } }); return first.concat(later).length',
    ],
    ['Array.from of an array-like', 'return Array.from({ length: 2 ** 32 - 1 }).length'],
    [
      'a length from valueOf',
      "return [].includes.call({ length: { valueOf() { return 2 ** 53 - 1 } } }, 'x')",
    ],
    ['includes over a long string', "return [].includes.call('x'.repeat(2 ** 27), 'y')"],
    ['JSON.stringify of a sparse array', 'return JSON.stringify(Array(2 ** 32 - 1)).length'],
    ['JSON.stringify with a sparse replacer list', 'return JSON.stringify({ a: 1 }, Array(2 ** 32 - 1))'],
    ['String.raw over an array-like', 'return String.raw({ raw: { length: 2 ** 32 - 1 } }).length'],
    ['a typed array from an array-like', 'return new Uint8Array({ length: 5e7 }).length'],
    ['Uint8Array.from an array-like', 'return Uint8Array.from({ length: 5e7 }).length'],
    ['typed array set from an array-like', 'new Uint8Array(5e7).set({ length: 5e7 }); return 1'],
    [
      'a large typed array sort',
      'const a = new Float64Array(6e6); for (let i = 0; i < a.length; i++) a[i] = Math.random(); a.sort(); return 1',
    ],
    ['a large typed array join', 'return new Uint8Array(5e7).join().length'],
    ['a costly string indexOf', "return 'a'.repeat(2 ** 24).indexOf('a'.repeat(2 ** 12) + 'b')"],
    ['a costly string split', "return 'a'.repeat(2 ** 24).split('a'.repeat(2 ** 12) + 'b').length"],
    [
      'a costly string replaceAll',
      "return 'a'.repeat(2 ** 24).replaceAll('a'.repeat(2 ** 12) + 'b', '').length",
    ],
    ['a costly string lastIndexOf', "return 'a'.repeat(2 ** 24).lastIndexOf('b' + 'a'.repeat(2 ** 12))"],
    ['a costly string includes', "return 'a'.repeat(2 ** 24).includes('a'.repeat(2 ** 12) + 'b')"],
    ['compiling a huge function', "return new Function('x = 1;'.repeat(2 ** 20)).length"],
    [
      'compiling a huge async function',
      "return (async function () {}).constructor('x = 1;'.repeat(2 ** 20)).length",
    ],
    ['evaluating a huge source', "return eval('x = 1;'.repeat(2 ** 20))"],
    [
      'a user exec returning a huge array-like to replace',
      "const r = /a/; r.exec = () => ({ length: 2 ** 53 - 1, index: 0, 0: 'a' }); return 'abc'.replace(r, 'x')",
    ],
    [
      'a user exec returning a huge array-like to split',
      "class R extends RegExp { exec() { return { length: 2 ** 53 - 1, index: 0, 0: '' } } } return 'abc'.split(new R('b')).length",
    ],
    ['a Set built from a sparse array', 'return new Set(Array(2 ** 32 - 1)).size'],
  ];

  it.each(loops)('interrupts %s on time', async (_name, code) => {
    const outcome = await bombWithSibling(code, { memoryLimit: 128 * 1024 * 1024 });
    expect(outcome.final.ok).toBe(false);
    expect(['EXECUTION_TIMEOUT', 'CPU_LIMIT_EXCEEDED', 'MEMORY_LIMIT_EXCEEDED', 'EXECUTION_ERROR']).toContain(
      outcome.error?.code,
    );
  });

  const changingLengths: [string, string][] = [
    ['a getter', "let n = 0; return [].indexOf.call({ get length() { return n++ ? 2 ** 53 - 1 : 1 } }, 'x')"],
    [
      'a proxy',
      "let n = 0; return new Proxy([], { get(t, k) { return k === 'length' ? (n++ ? 2 ** 32 - 1 : 1) : Reflect.get(t, k) } }).indexOf('x')",
    ],
    [
      'a proxy in the prototype chain',
      "let n = 0; const o = Object.create(new Proxy({}, { get(t, k) { return k === 'length' ? (n++ ? 2 ** 53 - 1 : 1) : undefined } })); return [].includes.call(o, 'x')",
    ],
  ];

  it.each(changingLengths)('reads a length that %s changes between reads only once', async (_name, code) => {
    const outcome = await bombWithSibling(code);
    expect(outcome.final.ok).toBe(true);
    expect([-1, false]).toContain(outcome.final.result);
  });

  it('ends a burst of 1,000 spinning sessions on time and serves the next session at once', async () => {
    // Its own pool, with a longer watchdog grace: on a loaded machine the burst's thread shares
    // its core, and the point here is that no engine is made for a session already past its end.
    const logs: { message: string; fields: LogFields | undefined }[] = [];
    const burstPool = createSandboxPool({
      size: 1,
      maxSessionsPerThread: 1100,
      watchdogGraceMs: 5000,
      logger: { ...logger, error: (message, fields) => logs.push({ message, fields }) },
    });
    try {
      await burstPool.ready();
      const burst = Array.from({ length: 1000 }, () =>
        runCode(burstPool, 'while (true) {}', { limits: { timeout: 1000, maxCpuTime: 1000 } }),
      );
      const outcomes = await Promise.all(burst);
      const unexpected = outcomes
        .map((outcome) => `${outcome.error?.code}: ${outcome.error?.message}`)
        .filter((text) => !text.startsWith('EXECUTION_TIMEOUT:') && !text.startsWith('CPU_LIMIT_EXCEEDED:'));
      expect([...new Set(unexpected)]).toEqual([]);
      const next = await runCode(burstPool, 'return 1 + 2', { limits: { timeout: 1000 } });
      expect(next.final).toMatchObject({ ok: true, result: 3 });
      expect(logs).toEqual([]);
    } finally {
      await burstPool.close();
    }
  });
});

describe('the watchdog, a last resort', () => {
  it('names the session that held its thread when it has to terminate it', async () => {
    const logs: { message: string; fields: LogFields | undefined }[] = [];
    const watched = createSandboxPool({
      size: 1,
      watchdogGraceMs: 100,
      logger: { ...logger, error: (message, fields) => logs.push({ message, fields }) },
    });
    try {
      await watched.ready();
      // Converting the largest BigInt to decimal takes seconds in C: the one kind of built-in
      // the guards cannot split (see docs/security.md).
      const stuck = runCode(watched, 'for (;;) String((1n << 900000n) - 1n)', {
        sessionId: 'ses_holding_the_thread',
        limits: { timeout: 200, maxCpuTime: 200 },
      });
      const outcome = await stuck;
      expect(outcome.error?.code).toBe('WORKER_CRASHED');
      expect(logs).toContainEqual(
        expect.objectContaining({ fields: expect.objectContaining({ sessionId: 'ses_holding_the_thread' }) }),
      );
      const after = await runCode(watched, 'return 1 + 2');
      expect(after.final).toMatchObject({ ok: true, result: 3 });
    } finally {
      await watched.close();
    }
  });
});
