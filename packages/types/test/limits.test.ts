import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SECURITY_LEVEL,
  resolveLimits,
  SECURITY_LEVELS,
  SessionLimitsSchema,
} from '../src/limits.js';

describe('security levels', () => {
  it('match the design table', () => {
    const table = {
      STRICT: [5_000, 10, 16, 64 * 1024],
      SECURE: [15_000, 50, 32, 256 * 1024],
      STANDARD: [30_000, 100, 64, 1024 * 1024],
      PERMISSIVE: [60_000, 1_000, 128, 10 * 1024 * 1024],
    } as const;
    for (const [level, [timeout, toolCalls, memoryMb, stdout]] of Object.entries(table)) {
      const limits = SECURITY_LEVELS[level as keyof typeof table];
      expect(SessionLimitsSchema.parse(limits)).toEqual(limits);
      expect(limits).toMatchObject({
        timeout,
        maxToolCalls: toolCalls,
        memoryLimit: memoryMb * 1024 * 1024,
        maxStdoutBytes: stdout,
      });
    }
  });

  it('grow from strictest to most permissive', () => {
    const order = [
      SECURITY_LEVELS.STRICT,
      SECURITY_LEVELS.SECURE,
      SECURITY_LEVELS.STANDARD,
      SECURITY_LEVELS.PERMISSIVE,
    ];
    for (let index = 1; index < order.length; index++) {
      for (const key of Object.keys(order[0]!) as (keyof typeof SECURITY_LEVELS.STRICT)[]) {
        expect(order[index]![key]).toBeGreaterThanOrEqual(order[index - 1]![key]);
      }
    }
  });

  it('are frozen so a caller cannot loosen them', () => {
    expect(Object.isFrozen(SECURITY_LEVELS.STRICT)).toBe(true);
    expect(() => {
      (SECURITY_LEVELS.STRICT as { timeout: number }).timeout = 1e9;
    }).toThrow();
  });
});

describe('resolveLimits', () => {
  it('defaults to STANDARD', () => {
    expect(DEFAULT_SECURITY_LEVEL).toBe('STANDARD');
    expect(resolveLimits()).toEqual(SECURITY_LEVELS.STANDARD);
  });

  it('applies overrides and ignores undefined', () => {
    const limits = resolveLimits('SECURE', { timeout: 2_000, maxToolCalls: undefined });
    expect(limits.timeout).toBe(2_000);
    expect(limits.maxToolCalls).toBe(SECURITY_LEVELS.SECURE.maxToolCalls);
  });

  it('rejects nonsense overrides', () => {
    expect(() => resolveLimits('STRICT', { timeout: -1 })).toThrow(/timeout/);
  });
});
