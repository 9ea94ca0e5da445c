import { EnclaveError } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import { StreamEncoder } from '../../src/ndjson/stream-encoder.js';

function thrownBy(action: () => unknown): EnclaveError {
  try {
    action();
  } catch (error) {
    if (EnclaveError.isInstance(error)) return error;
    throw new Error(`Expected an EnclaveError, got ${String(error)}`);
  }
  throw new Error('Expected an EnclaveError, nothing was thrown');
}

describe('StreamEncoder', () => {
  it('encodes a message as one JSON line ending in a newline (the documented example)', () => {
    const encoder = new StreamEncoder();
    const encoded = encoder.encode({ type: 'tool_call', name: 'getData', args: {} });
    expect(encoded).toBe('{"type":"tool_call","name":"getData","args":{}}\n');
  });

  it('keeps newlines inside values escaped, so every message stays on one line', () => {
    const encoder = new StreamEncoder();
    const message = { chunk: 'line 1\nline 2\r\n', separator: '\u2028\u2029' };
    const encoded = encoder.encode(message);
    expect(encoded.indexOf('\n')).toBe(encoded.length - 1);
    expect(JSON.parse(encoded)).toEqual(message);
  });

  it('encodes bytes as the UTF-8 of the same line', () => {
    const encoder = new StreamEncoder();
    const message = { text: 'é中😀' };
    const bytes = encoder.encodeBytes(message);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(new TextDecoder().decode(bytes)).toBe(encoder.encode(message));
    expect(bytes.length).toBe(new TextEncoder().encode(encoder.encode(message)).length);
  });

  it('encodes several messages at once, from an array or any iterable', () => {
    const encoder = new StreamEncoder<{ seq: number }>();
    expect(encoder.encodeMany([{ seq: 1 }, { seq: 2 }])).toBe('{"seq":1}\n{"seq":2}\n');
    function* generate(): Generator<{ seq: number }> {
      yield { seq: 3 };
      yield { seq: 4 };
    }
    expect(new TextDecoder().decode(encoder.encodeManyBytes(generate()))).toBe('{"seq":3}\n{"seq":4}\n');
    expect(encoder.encodeMany([])).toBe('');
    expect(encoder.encodeManyBytes([])).toEqual(new Uint8Array(0));
  });

  it('encodes JSON values that are not objects', () => {
    const encoder = new StreamEncoder();
    expect(encoder.encodeMany([1, 'two', null, [3], false])).toBe('1\n"two"\nnull\n[3]\nfalse\n');
  });

  it('rejects values JSON has no form for with BAD_REQUEST instead of writing "undefined"', () => {
    const encoder = new StreamEncoder();
    for (const value of [undefined, () => 1, Symbol('s'), { toJSON: () => undefined }]) {
      const error = thrownBy(() => encoder.encode(value));
      expect(error.code).toBe('BAD_REQUEST');
      expect(error.message).toContain('no JSON representation');
    }
    expect(thrownBy(() => encoder.encodeMany([{ seq: 1 }, undefined])).code).toBe('BAD_REQUEST');
  });

  it('rejects BigInt values and cycles with BAD_REQUEST, keeping the cause', () => {
    const encoder = new StreamEncoder();
    const bigint = thrownBy(() => encoder.encode({ count: 10n }));
    expect(bigint.code).toBe('BAD_REQUEST');
    expect(bigint.cause).toBeInstanceOf(TypeError);
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const cycle = thrownBy(() => encoder.encodeBytes(cyclic));
    expect(cycle.code).toBe('BAD_REQUEST');
    expect(cycle.message).toMatch(/circular/i);
  });

  it('passes on an exception thrown by a toJSON method as the cause', () => {
    const failure = new Error('cannot serialize me');
    const error = thrownBy(() =>
      new StreamEncoder().encode({
        toJSON() {
          throw failure;
        },
      }),
    );
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.cause).toBe(failure);
  });

  it('refuses to produce a line longer than maxLineSize', () => {
    const encoder = new StreamEncoder({ maxLineSize: 13 });
    expect(encoder.encode({ a: '12345' })).toBe('{"a":"12345"}\n');
    const error = thrownBy(() => encoder.encode({ a: '1234567' }));
    expect(error.code).toBe('LINE_TOO_LONG');
    expect(error.details).toEqual({ length: 15, maxLineSize: 13 });
    expect(new StreamEncoder().maxLineSize).toBe(16 * 1024 * 1024);
    expect(thrownBy(() => new StreamEncoder({ maxLineSize: 0 })).code).toBe('CONFIGURATION_ERROR');
  });
});
