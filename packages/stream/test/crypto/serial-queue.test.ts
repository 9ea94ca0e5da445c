import { describe, expect, it } from 'vitest';
import { SerialQueue } from '../../src/crypto/serial-queue.js';

describe('SerialQueue', () => {
  it('finishes tasks in the order they were added even when later ones are quicker', async () => {
    const queue = new SerialQueue();
    const finished: number[] = [];
    const delays = [20, 1, 10, 0];
    await Promise.all(
      delays.map((delay, index) =>
        queue.run(async () => {
          await new Promise((resolve) => setTimeout(resolve, delay));
          finished.push(index);
        }),
      ),
    );
    expect(finished).toEqual([0, 1, 2, 3]);
  });

  it('keeps going after a failing task and reports each outcome to its caller', async () => {
    const queue = new SerialQueue();
    const failing = queue.run(async () => {
      throw new Error('first fails');
    });
    const next = queue.run(async () => 'second runs');
    await expect(failing).rejects.toThrow('first fails');
    await expect(next).resolves.toBe('second runs');
    await queue.idle();
    await expect(queue.run(async () => 'after idle')).resolves.toBe('after idle');
  });
});
