import { describe, expect, it } from 'vitest';
import { IV_LENGTH, randomIv } from '../../src/crypto/random-iv.js';

describe('randomIv', () => {
  it('never hands out the same IV twice, across several refills of its pool', () => {
    const seen = new Set<string>();
    for (let index = 0; index < 2000; index++) {
      const iv = randomIv();
      expect(iv).toHaveLength(IV_LENGTH);
      seen.add(iv.join(','));
    }
    expect(seen.size).toBe(2000);
  });
});
