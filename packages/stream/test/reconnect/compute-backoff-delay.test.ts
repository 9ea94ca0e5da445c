import { describe, expect, it } from 'vitest';
import { computeBackoffDelay, DEFAULT_BACKOFF_OPTIONS } from '../../src/reconnect/compute-backoff-delay.js';

const options = { initialDelay: 1000, maxDelay: 30_000, backoffMultiplier: 2 };
const noJitter = { ...options, jitter: 0 };

describe('computeBackoffDelay', () => {
  it('grows exponentially from initialDelay', () => {
    const delays = [1, 2, 3, 4, 5].map((attempt) => computeBackoffDelay(attempt, noJitter));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000]);
  });

  it('is capped at maxDelay, even for huge attempt numbers', () => {
    expect(computeBackoffDelay(6, noJitter)).toBe(30_000);
    expect(computeBackoffDelay(10_000, noJitter)).toBe(30_000);
    expect(computeBackoffDelay(10_000, { ...noJitter, initialDelay: 0 })).toBe(0);
    expect(computeBackoffDelay(10_000, options, () => 0.999)).toBeLessThanOrEqual(30_000);
  });

  it('applies jitter: by default the delay lies between half and all of the exponential value', () => {
    expect(computeBackoffDelay(3, options, () => 0)).toBe(2000);
    expect(computeBackoffDelay(3, options, () => 0.5)).toBe(3000);
    expect(computeBackoffDelay(3, options, () => 1)).toBe(4000);
  });

  it('uses the given jitter share', () => {
    expect(computeBackoffDelay(1, { ...options, jitter: 1 }, () => 0)).toBe(0);
    expect(computeBackoffDelay(1, { ...options, jitter: 1 }, () => 0.25)).toBe(250);
    expect(computeBackoffDelay(1, { ...options, jitter: 0.2 }, () => 0)).toBe(800);
  });

  it('spreads clients out when randomness comes from Math.random', () => {
    const delays = new Set(Array.from({ length: 20 }, () => computeBackoffDelay(4, options)));
    expect(delays.size).toBeGreaterThan(1);
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(4000);
      expect(delay).toBeLessThanOrEqual(8000);
    }
  });

  it('documents its defaults', () => {
    expect(DEFAULT_BACKOFF_OPTIONS).toEqual({
      initialDelay: 1000,
      maxDelay: 30_000,
      backoffMultiplier: 2,
      jitter: 0.5,
    });
  });

  it('rejects invalid input with CONFIGURATION_ERROR', () => {
    const invalid = expect.objectContaining({ code: 'CONFIGURATION_ERROR' });
    expect(() => computeBackoffDelay(0, options)).toThrow(invalid);
    expect(() => computeBackoffDelay(1.5, options)).toThrow(invalid);
    expect(() => computeBackoffDelay(1, { ...options, initialDelay: -1 })).toThrow(invalid);
    expect(() => computeBackoffDelay(1, { ...options, backoffMultiplier: 0.5 })).toThrow(invalid);
    expect(() => computeBackoffDelay(1, { ...options, jitter: 2 })).toThrow(invalid);
    expect(() => computeBackoffDelay(1, { ...options, maxDelay: Number.NaN })).toThrow(invalid);
  });
});
