import { describe, expect, it } from 'vitest';
import { createConsoleLogger } from '../../src/logging/runtime-logger.js';

describe('createConsoleLogger', () => {
  it('writes one line per entry with its level and fields, and skips debug unless verbose', () => {
    const lines: string[] = [];
    const logger = createConsoleLogger({
      name: 'test',
      write: (level, line) => lines.push(`${level}|${line}`),
    });
    logger.info('Listening on ws://127.0.0.1:1', { workerId: 'w1' });
    logger.debug('hidden');
    logger.warn('plain');
    expect(lines).toEqual([
      'info|test info: Listening on ws://127.0.0.1:1 {"workerId":"w1"}',
      'warn|test warn: plain',
    ]);

    const verbose = createConsoleLogger({ verbose: true, write: (_level, line) => lines.push(line) });
    verbose.debug('shown', { count: 1 });
    expect(lines.at(-1)).toBe('enclave-runtime debug: shown {"count":1}');
  });
});
