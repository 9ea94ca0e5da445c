import { ReconnectingStream } from '@enclave-vm/stream';
import type { WireEvent } from '@enclave-vm/types';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { EnclaveBroker, enclaveBrokerPlugin } from '../src/index.js';
import { errorOf, postJson, readAllEvents, startTestBroker } from './http-test-helpers.js';

describe('enclaveBrokerPlugin in your own fastify app', () => {
  it('serves every broker route under a prefix and leaves the app’s own routes alone', async () => {
    const broker = new EnclaveBroker({ poolSize: 1 });
    const app = Fastify();
    app.get('/mine', async () => ({ mine: true }));
    app.get('/mine/fails', async () => {
      throw new Error('my own error');
    });
    await app.register(enclaveBrokerPlugin, { broker, prefix: '/enclave' });
    try {
      const url = await app.listen({ port: 0, host: '127.0.0.1' });

      const response = await postJson(`${url}/enclave/execute`, { code: 'return 6 * 7' });
      const sessionId = response.headers.get('x-session-id') ?? '';
      const events = await readAllEvents(response);
      expect(events.at(-1)).toMatchObject({ type: 'final', payload: { ok: true, result: 42 } });
      expect((await fetch(`${url}/enclave/sessions/${sessionId}`)).status).toBe(200);
      expect(
        await readAllEvents(await fetch(`${url}/enclave/sessions/${sessionId}/events?fromSeq=1`)),
      ).toEqual(events);
      expect((await fetch(`${url}/enclave/health`)).status).toBe(200);
      expect((await fetch(`${url}/enclave/code/actions`)).status).toBe(200);
      expect(await errorOf(await fetch(`${url}/enclave/nowhere`))).toMatchObject({
        status: 404,
        code: 'NOT_FOUND',
      });

      const streamed: WireEvent[] = [];
      await new Promise<void>((resolve) => {
        const stream = new ReconnectingStream({
          url: `${url.replace('http', 'ws')}/enclave/sessions/stream`,
          sessionId,
          WebSocket,
          onMessage: (event) => streamed.push(event),
          onClose: () => resolve(),
        });
        void stream.connect();
      });
      expect(streamed).toEqual(events);

      // The app's own routes keep fastify's behaviour: its body shapes, its text/plain parser.
      expect(await (await fetch(`${url}/mine`)).json()).toEqual({ mine: true });
      const ownError = (await (await fetch(`${url}/mine/fails`)).json()) as Record<string, unknown>;
      expect(ownError).toMatchObject({ statusCode: 500, message: 'my own error' });
      expect(ownError).not.toHaveProperty('error.code');
      expect((await fetch(`${url}/execute`)).status).toBe(404);
    } finally {
      await app.close();
      await broker.close();
    }
  });
});

describe('CORS', () => {
  const preflight = (url: string, origin: string) =>
    fetch(`${url}/execute`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,authorization',
      },
    });

  it('cors: true allows any origin and exposes the session id header', async () => {
    await using server = await startTestBroker({ cors: true });
    const answer = await preflight(server.url, 'https://app.example');
    expect(answer.status).toBe(204);
    expect(answer.headers.get('access-control-allow-origin')).toBe('*');
    expect(answer.headers.get('access-control-allow-methods')).toContain('DELETE');

    const response = await postJson(
      `${server.url}/execute`,
      { code: 'return 1' },
      { origin: 'https://app.example' },
    );
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-expose-headers')).toContain('x-session-id');
    await readAllEvents(response);
    const refused = await fetch(`${server.url}/sessions/ses_none`, {
      headers: { origin: 'https://app.example' },
    });
    expect(refused.status).toBe(404);
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('an origin list allows only those origins', async () => {
    await using server = await startTestBroker({
      cors: { origin: ['https://app.example'], credentials: true },
    });
    const allowed = await fetch(`${server.url}/health`, { headers: { origin: 'https://app.example' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    const other = await fetch(`${server.url}/health`, { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('is off by default', async () => {
    await using server = await startTestBroker();
    const response = await fetch(`${server.url}/health`, { headers: { origin: 'https://app.example' } });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect((await preflight(server.url, 'https://app.example')).status).toBe(404);
  });
});
