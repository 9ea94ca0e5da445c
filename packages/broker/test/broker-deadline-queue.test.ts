import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineQueue } from '../src/sessions/deadline-queue.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('DeadlineQueue (heartbeats and expiry of every session)', () => {
  it('hands items out in deadline order, including deadlines added out of order', () => {
    const due: string[] = [];
    const queue = new DeadlineQueue<string>({ onDue: (item) => due.push(item) });
    const now = Date.now();
    queue.add('c', now + 300);
    queue.add('a', now + 100);
    queue.add('d', now + 400);
    queue.add('b', now + 200);
    vi.advanceTimersByTime(99);
    expect(due).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(due).toEqual(['a']);
    vi.advanceTimersByTime(300);
    expect(due).toEqual(['a', 'b', 'c', 'd']);
    expect(queue.size).toBe(0);
  });

  it('keeps one timer for thousands of items, and repeating items keep their interval', () => {
    let beats = 0;
    const interval = 1000;
    const queue: DeadlineQueue<number> = new DeadlineQueue<number>({
      coalesceMs: 50,
      onDue: (item) => {
        beats++;
        queue.add(item, Date.now() + interval);
      },
    });
    for (let index = 0; index < 5000; index++) {
      queue.add(index, Date.now() + interval);
      vi.advanceTimersByTime(0.1);
    }
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(interval * 3);
    expect(beats).toBeGreaterThanOrEqual(5000 * 2);
    expect(beats).toBeLessThanOrEqual(5000 * 3);
    expect(vi.getTimerCount()).toBe(1);
    queue.close();
    expect(vi.getTimerCount()).toBe(0);
    queue.add(1, Date.now());
    expect(vi.getTimerCount()).toBe(0);
  });
});
