import { describe, expect, it } from 'vitest';
import { EnclaveClient, EnclaveError } from '../src/index.js';
import { startBroker } from './test-broker.js';

describe('errors with codes', () => {
  it('turns 401 into UNAUTHORIZED and sends headers from a function', async () => {
    await using server = await startBroker({
      authentication: {
        type: 'bearer',
        validate: async (token) => ({ valid: token === 'secret', userId: 'ada', tenantId: 't1' }),
      },
    });
    const anonymous = server.client();
    const refused = anonymous.execute('return 1');
    const error = await refused.result.catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(EnclaveError);
    expect(error).toMatchObject({ code: 'UNAUTHORIZED', httpStatus: 401, retryable: false });
    await expect(refused.ready).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(refused.store.getSnapshot()).toMatchObject({ state: 'error', error: { code: 'UNAUTHORIZED' } });
    await expect(anonymous.getSession('ses_whatever')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });

    let tokenRequests = 0;
    const authorized = server.client({
      headers: async () => {
        tokenRequests++;
        return { authorization: 'Bearer secret' };
      },
    });
    const session = authorized.execute('return "in"');
    expect((await session.result).result).toBe('in');
    expect((await authorized.getSession(await session.ready)).status).toBe('completed');
    expect(tokenRequests).toBe(2);
  });

  it('reports an unknown session as SESSION_NOT_FOUND (404)', async () => {
    await using server = await startBroker();
    const client = server.client();
    await expect(client.getSession('ses_unknown')).rejects.toMatchObject({
      code: 'SESSION_NOT_FOUND',
      httpStatus: 404,
    });
    const resumed = client.resume('ses_unknown');
    await expect(resumed.result).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' });
    expect(resumed.store.getSnapshot().state).toBe('error');
    expect(() => client.resume('not a session id')).toThrow(EnclaveError);
  });

  it('reports 429 as RATE_LIMITED, retryable, with the wait the broker asks for', async () => {
    await using server = await startBroker({ rateLimiting: { windowMs: 60_000, maxRequests: 2 } });
    const client = server.client();
    expect((await client.execute('return 1').result).ok).toBe(true);
    expect((await client.execute('return 2').result).ok).toBe(true);
    const limited = client.execute('return 3');
    const error = await limited.result.catch((failure: unknown) => failure);
    expect(error).toMatchObject({ code: 'RATE_LIMITED', retryable: true, httpStatus: 429 });
    expect((error as EnclaveError).details).toMatchObject({ status: 429, retryAfterMs: expect.any(Number) });
  });

  it('reports a refused request body as VALIDATION_ERROR', async () => {
    await using server = await startBroker();
    const session = server.client().execute('');
    await expect(session.result).rejects.toMatchObject({ code: 'VALIDATION_ERROR', httpStatus: 400 });
  });

  it('reports an unreachable broker as CONNECTION_CLOSED, and bad options as CONFIGURATION_ERROR', async () => {
    const server = await startBroker();
    const url = server.url;
    await server[Symbol.asyncDispose]();
    const client = new EnclaveClient({ brokerUrl: url, reconnect: { maxAttempts: 1, initialDelay: 1 } });
    await expect(client.health()).rejects.toMatchObject({ code: 'CONNECTION_CLOSED', retryable: true });
    await expect(client.execute('return 1').result).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    expect(() => new EnclaveClient({ brokerUrl: 'not a url' })).toThrow(
      expect.objectContaining({ code: 'CONFIGURATION_ERROR' }),
    );
    expect(() => new EnclaveClient({ brokerUrl: url, reconnect: { backoffMultiplier: 0.5 } })).toThrow(
      expect.objectContaining({ code: 'CONFIGURATION_ERROR' }),
    );
  });
});
