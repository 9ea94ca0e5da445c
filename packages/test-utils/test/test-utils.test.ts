import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, recordingLogger, seededRandom, waitUntil } from '../src/index.js';

describe('seededRandom', () => {
  it('replays the same numbers for the same seed, and others for another seed', () => {
    const draw = (seed: number) => {
      const random = seededRandom(seed);
      return Array.from({ length: 1_000 }, () => random());
    };
    const first = draw(42);
    expect(draw(42)).toEqual(first);
    expect(draw(43)).not.toEqual(first);
    expect(first.every((value) => value >= 0 && value < 1)).toBe(true);
    // Spread over the interval: each tenth gets a share of the 1,000 draws.
    for (let tenth = 0; tenth < 10; tenth++) {
      const count = first.filter((value) => Math.floor(value * 10) === tenth).length;
      expect(count).toBeGreaterThan(50);
    }
  });
});

describe('waitUntil', () => {
  it('resolves once the condition holds and names what it waited for when it gives up', async () => {
    let ready = false;
    setTimeout(() => {
      ready = true;
    }, 30);
    await waitUntil(() => ready, 'the flag');
    expect(ready).toBe(true);
    await expect(waitUntil(() => false, 'a flag that never flips', 50)).rejects.toThrow(
      'Waited 50 ms for a flag that never flips',
    );
  });
});

describe('recordingLogger', () => {
  it('keeps every line with its level and data, in order', () => {
    const logger = recordingLogger();
    logger.info('started', { port: 3000 });
    logger.debug('detail');
    logger.error('failed', { code: 'X' });
    expect(logger.lines).toEqual([
      'info started {"port":3000}',
      'debug detail {}',
      'error failed {"code":"X"}',
    ]);
  });
});

describe('freePort', () => {
  it('returns a port a server can listen on', async () => {
    const port = await freePort();
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    expect(server.address()).toMatchObject({ port });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});
