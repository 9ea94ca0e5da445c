import { describe, expect, it } from 'vitest';
import { TypedEventEmitter } from '../../src/ndjson/typed-event-emitter.js';

type TestEvents = { value: [value: number]; pair: [left: string, right: string]; done: [] };

class TestEmitter extends TypedEventEmitter<TestEvents> {
  send<Name extends keyof TestEvents>(event: Name, ...args: TestEvents[Name]): boolean {
    return this.emit(event, ...args);
  }
}

describe('TypedEventEmitter', () => {
  it('calls listeners in registration order with the emitted arguments', () => {
    const emitter = new TestEmitter();
    const calls: string[] = [];
    emitter.on('pair', (left, right) => calls.push(`first ${left}${right}`));
    emitter.on('pair', (left, right) => calls.push(`second ${left}${right}`));
    expect(emitter.send('pair', 'a', 'b')).toBe(true);
    expect(calls).toEqual(['first ab', 'second ab']);
  });

  it('reports whether anyone listened, and counts listeners', () => {
    const emitter = new TestEmitter();
    expect(emitter.send('done')).toBe(false);
    const listener = (): void => undefined;
    emitter.on('done', listener);
    emitter.on('done', listener);
    expect(emitter.listenerCount('done')).toBe(2);
    emitter.off('done', listener);
    expect(emitter.listenerCount('done')).toBe(1);
    emitter.off('done', listener).off('done', listener);
    expect(emitter.listenerCount('done')).toBe(0);
    expect(emitter.send('done')).toBe(false);
  });

  it('runs a once() listener a single time, and off() removes it before it runs', () => {
    const emitter = new TestEmitter();
    const seen: number[] = [];
    const never: number[] = [];
    const neverListener = (value: number): void => {
      never.push(value);
    };
    emitter.once('value', (value) => seen.push(value));
    emitter.once('value', neverListener);
    emitter.off('value', neverListener);
    emitter.send('value', 1);
    emitter.send('value', 2);
    expect(seen).toEqual([1]);
    expect(never).toEqual([]);
  });

  it('lets a listener remove another during an emission without disturbing that emission', () => {
    const emitter = new TestEmitter();
    const seen: string[] = [];
    const second = (value: number): void => {
      seen.push(`second ${value}`);
    };
    emitter.on('value', (value) => {
      seen.push(`first ${value}`);
      emitter.off('value', second);
    });
    emitter.on('value', second);
    emitter.send('value', 1);
    emitter.send('value', 2);
    expect(seen).toEqual(['first 1', 'second 1', 'first 2']);
  });

  it('runs every listener even when one throws, then rethrows the first exception', () => {
    const emitter = new TestEmitter();
    const seen: number[] = [];
    emitter.on('value', () => {
      throw new Error('first failure');
    });
    emitter.on('value', () => {
      throw new Error('second failure');
    });
    emitter.on('value', (value) => seen.push(value));
    expect(() => emitter.send('value', 5)).toThrow('first failure');
    expect(seen).toEqual([5]);
  });
});
