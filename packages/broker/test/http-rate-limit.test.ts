import { describe, expect, it } from 'vitest';
import { createBroker } from '../src/create-broker.js';
import { thrownBy } from './broker-helpers.js';
import { errorOf, startTestBroker } from './http-test-helpers.js';

describe('rate limiting over HTTP', () => {
  it('answers 429 RATE_LIMITED with Retry-After once a key used its budget, and counts down in headers', async () => {
    await using server = await startTestBroker({ rateLimiting: { windowMs: 60_000, maxRequests: 3 } });
    const remaining: (string | null)[] = [];
    for (let request = 0; request < 3; request++) {
      const response = await fetch(`${server.url}/code/actions`);
      expect(response.status).toBe(200);
      expect(response.headers.get('x-ratelimit-limit')).toBe('3');
      remaining.push(response.headers.get('x-ratelimit-remaining'));
    }
    expect(remaining).toEqual(['2', '1', '0']);

    const refused = await fetch(`${server.url}/sessions/ses_1`);
    expect(await errorOf(refused)).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
    // The execute route is limited too; /health is not.
    expect((await fetch(`${server.url}/execute`, { method: 'POST' })).status).toBe(429);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  it('opens a new window after windowMs', async () => {
    await using server = await startTestBroker({ rateLimiting: { windowMs: 200, maxRequests: 1 } });
    expect((await fetch(`${server.url}/code/actions`)).status).toBe(200);
    expect((await fetch(`${server.url}/code/actions`)).status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect((await fetch(`${server.url}/code/actions`)).status).toBe(200);
  });

  it('keys budgets with the keyGenerator of the reference (x-api-key, else the IP)', async () => {
    await using server = await startTestBroker({
      rateLimiting: {
        windowMs: 60_000,
        maxRequests: 2,
        keyGenerator: (req) => req.headers['x-api-key'] || req.ip,
      },
    });
    const as = (key?: string) =>
      fetch(`${server.url}/code/actions`, { headers: key === undefined ? {} : { 'x-api-key': key } });

    expect([(await as('a')).status, (await as('a')).status, (await as('a')).status]).toEqual([200, 200, 429]);
    expect([(await as('b')).status, (await as('b')).status, (await as('b')).status]).toEqual([200, 200, 429]);
    expect([(await as()).status, (await as()).status, (await as()).status]).toEqual([200, 200, 429]);
  });

  it('lets the keyGenerator key on the authenticated user, and counts failed logins', async () => {
    await using server = await startTestBroker({
      authentication: {
        type: 'bearer',
        validate: async (token) => ({ valid: token.startsWith('user-'), userId: token }),
      },
      rateLimiting: { windowMs: 60_000, maxRequests: 1, keyGenerator: (req) => req.user?.userId ?? req.ip },
    });
    const as = (token: string) =>
      fetch(`${server.url}/code/actions`, { headers: { authorization: `Bearer ${token}` } });

    expect((await as('user-1')).status).toBe(200);
    expect((await as('user-2')).status).toBe(200);
    expect((await as('user-1')).status).toBe(429);
    expect((await as('guess-1')).status).toBe(401);
    expect((await as('guess-2')).status).toBe(429);
  });
});

describe('rateLimiting options', () => {
  it('refuses a configuration that cannot limit anything when the broker is created', () => {
    for (const rateLimiting of [
      { windowMs: 0, maxRequests: 1 },
      { windowMs: 1000, maxRequests: -1 },
      { windowMs: 1000, maxRequests: 1.5 },
      { windowMs: 1000, maxRequests: 1, keyGenerator: 'ip' },
    ]) {
      const error = thrownBy(() => createBroker({ rateLimiting: rateLimiting as never }));
      expect(error.code).toBe('CONFIGURATION_ERROR');
      expect(error.message).toMatch(/rateLimiting\.(windowMs|maxRequests|keyGenerator)/);
    }
  });
});
