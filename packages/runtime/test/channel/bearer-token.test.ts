import { describe, expect, it } from 'vitest';
import { bearerHeader, isAuthorizedBearer } from '../../src/channel/bearer-token.js';

describe('isAuthorizedBearer', () => {
  it('accepts the header bearerHeader builds for the same token', () => {
    expect(isAuthorizedBearer(bearerHeader('s3cret-token'), 's3cret-token')).toBe(true);
  });

  it('accepts any case of the scheme and surrounding whitespace', () => {
    expect(isAuthorizedBearer('  bearer s3cret-token ', 's3cret-token')).toBe(true);
  });

  it('refuses a missing header, another token, a prefix of the token and another scheme', () => {
    expect(isAuthorizedBearer(undefined, 's3cret-token')).toBe(false);
    expect(isAuthorizedBearer('Bearer other-token', 's3cret-token')).toBe(false);
    expect(isAuthorizedBearer('Bearer s3cret', 's3cret-token')).toBe(false);
    expect(isAuthorizedBearer('Basic s3cret-token', 's3cret-token')).toBe(false);
    expect(isAuthorizedBearer('s3cret-token', 's3cret-token')).toBe(false);
  });
});
