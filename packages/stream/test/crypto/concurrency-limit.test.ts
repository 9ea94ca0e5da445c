import { describe, expect, it } from 'vitest';
import { ConcurrencyLimit } from '../../src/crypto/concurrency-limit.js';

describe('ConcurrencyLimit', () => {
  it('hands out free slots at once and the others in call order as slots come back', async () => {
    const limit = new ConcurrencyLimit(2);
    expect(limit.acquire()).toBeUndefined();
    expect(limit.acquire()).toBeUndefined();
    expect(limit.active).toBe(2);
    const order: number[] = [];
    const third = limit.acquire()?.then(() => order.push(3));
    const fourth = limit.acquire()?.then(() => order.push(4));
    expect(third).toBeInstanceOf(Promise);
    limit.release();
    await third;
    expect(order).toEqual([3]);
    // The slot went to the waiter: still two in use.
    expect(limit.active).toBe(2);
    limit.release();
    await fourth;
    expect(order).toEqual([3, 4]);
    limit.release();
    limit.release();
    expect(limit.active).toBe(0);
    expect(limit.acquire()).toBeUndefined();
  });

  it('never runs more than its limit of operations at once', async () => {
    const limit = new ConcurrencyLimit(3);
    let running = 0;
    let most = 0;
    const operation = async (index: number): Promise<number> => {
      const slot = limit.acquire();
      if (slot !== undefined) await slot;
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, index % 3));
      running--;
      limit.release();
      return index;
    };
    const results = await Promise.all(Array.from({ length: 2000 }, (_, index) => operation(index)));
    expect(results).toHaveLength(2000);
    expect(most).toBe(3);
    expect(limit.active).toBe(0);
  });
});
