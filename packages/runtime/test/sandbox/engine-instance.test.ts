import { describe, expect, it } from 'vitest';
import { createEngineInstance, MINIMUM_INSTANCE_BYTES } from '../../src/sandbox/engine-instance.js';

const MiB = 1024 * 1024;

describe('EngineInstance', () => {
  it('has its own memory with the requested cap, at least the module minimum', async () => {
    const small = await createEngineInstance(1 * MiB);
    expect(small.maximumBytes).toBe(MINIMUM_INSTANCE_BYTES);
    const large = await createEngineInstance(48 * MiB);
    expect(large.maximumBytes).toBe(48 * MiB);
    expect(large.memory).not.toBe(small.memory);
    expect(large.byteLength).toBe(MINIMUM_INSTANCE_BYTES);
  });

  it('refuses heap growth past the soft limit and marks itself exhausted, until the next limit is set', async () => {
    const instance = await createEngineInstance(64 * MiB);
    instance.setMemoryLimit(24 * MiB);
    const context = instance.runtime.newContext();
    const result = context.evalCode(
      'const keep = []; try { while (true) keep.push(new Array(10000).fill(1)) } catch (error) { error.message }',
    );
    expect(context.dump(context.unwrapResult(result))).toBe('out of memory');
    expect(instance.memoryExhausted).toBe(true);
    expect(instance.byteLength).toBeLessThanOrEqual(24 * MiB);
    context.dispose();
    instance.setMemoryLimit(64 * MiB);
    expect(instance.memoryExhausted).toBe(false);
  });

  it('freezes its shared realm and keeps formatting after the lockdown', async () => {
    const instance = await createEngineInstance(32 * MiB);
    expect(instance.frozenObjects).toBeGreaterThan(500);
    const context = instance.runtime.newContext();
    const values = context.unwrapResult(context.evalCode("[{ a: [1, 'two'] }, 3n, new Map([[1, 2]])]"));
    expect(instance.callHelper('formatArguments', values)).toBe("{ a: [ 1, 'two' ] } 3n Map(1) { 1 => 2 }");
    values.dispose();
    context.dispose();
  });

  it('describes thrown values and serializes results in the shared realm', async () => {
    const instance = await createEngineInstance(32 * MiB);
    const context = instance.runtime.newContext();
    const error = context.unwrapResult(
      context.evalCode("Object.assign(new RangeError('too far'), { code: 'E_FAR' })"),
    );
    expect(JSON.parse(instance.callHelper('describeThrown', error) ?? '{}')).toMatchObject({
      name: 'RangeError',
      message: 'too far',
      code: 'E_FAR',
    });
    const circular = context.unwrapResult(context.evalCode('const a = {}; a.a = a; a'));
    expect(instance.callHelper('serializeResult', circular)).toMatch(
      /^EThe result cannot be represented as JSON/,
    );
    const plain = context.unwrapResult(context.evalCode('({ ok: [1, 2] })'));
    expect(instance.callHelper('serializeResult', plain)).toBe('J{"ok":[1,2]}');
    for (const handle of [error, circular, plain]) handle.dispose();
    context.dispose();
  });
});
