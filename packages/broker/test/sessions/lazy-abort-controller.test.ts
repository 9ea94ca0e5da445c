import { describe, expect, it } from 'vitest';
import { LazyAbortController } from '../../src/sessions/lazy-abort-controller.js';

describe('LazyAbortController', () => {
  it('hands out one signal that aborts with the reason when read before the abort', () => {
    const controller = new LazyAbortController();
    const signal = controller.signal;
    const seen: unknown[] = [];
    signal.addEventListener('abort', () => seen.push(signal.reason));
    expect(controller.aborted).toBe(false);
    controller.abort('first');
    controller.abort('second');
    expect(controller.signal).toBe(signal);
    expect(controller.aborted).toBe(true);
    expect(signal.reason).toBe('first');
    expect(seen).toEqual(['first']);
  });

  it('makes the signal already aborted, with the first reason, when read after the abort', () => {
    const controller = new LazyAbortController();
    const reason = new Error('the session ended');
    controller.abort(reason);
    controller.abort(new Error('later'));
    expect(controller.aborted).toBe(true);
    const signal = controller.signal;
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reason);
    expect(() => signal.throwIfAborted()).toThrow('the session ended');
  });
});
