import { readFileSync } from 'node:fs';
import { ERROR_CODES, EVENT_TYPES } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('docs/protocol.md', () => {
  const protocol = read('docs/protocol.md');

  it('lists every error code with its HTTP status', () => {
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      expect(protocol).toContain(`| \`${code}\` | ${info.httpStatus} | ${info.retryable ? 'yes' : 'no'} |`);
    }
  });

  it('documents every event type', () => {
    for (const type of EVENT_TYPES) expect(protocol).toContain(`### \`${type}\``);
  });
});

describe('README.md', () => {
  const readme = read('README.md');

  it('opens with the two commands a newcomer runs', () => {
    const firstBlock = readme.split('```')[1] ?? '';
    expect(firstBlock).toContain('pnpm start');
    expect(firstBlock).toContain('pnpm test');
  });
});
