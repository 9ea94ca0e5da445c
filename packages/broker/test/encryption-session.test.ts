import { exportPublicKey, generateKeyPair } from '@enclave-vm/stream';
import { describe, expect, it } from 'vitest';
import { clientCipherFor, openAll, parseWire, runEncrypted } from './encryption-helpers.js';
import { postJson, startTestBroker } from './http-test-helpers.js';

const CODE = `console.log('the secret is 4242'); console.warn('quietly'); return { vault: 'open' };`;

describe('encrypted sessions', () => {
  it('announces its keys in session_init and seals every later event', async () => {
    await using server = await startTestBroker();
    const session = await runEncrypted(server.url, { code: CODE });
    const [init, ...rest] = session.wire;
    expect(init).toMatchObject({
      type: 'session_init',
      seq: 1,
      payload: {
        encryption: {
          algorithm: 'ECDH-P256+HKDF-SHA256+AES-256-GCM',
          publicKey: expect.any(String),
          salt: expect.any(String),
        },
      },
    });
    expect(rest).toHaveLength(3);
    for (const event of rest) {
      expect(event).toMatchObject({ type: 'encrypted', sessionId: session.sessionId });
      expect(Object.keys(event).sort()).toEqual([
        'payload',
        'protocolVersion',
        'seq',
        'sessionId',
        'ts',
        'type',
      ]);
    }
    for (const secret of ['4242', 'quietly', 'vault']) expect(session.text).not.toContain(secret);

    expect(session.events.map((event) => event.type)).toEqual(['session_init', 'stdout', 'log', 'final']);
    expect(session.events[1]).toMatchObject({ payload: { chunk: 'the secret is 4242\n' } });
    expect(session.events.at(-1)).toMatchObject({
      type: 'final',
      payload: { ok: true, result: { vault: 'open' } },
    });
    expect(session.events.map((event) => event.seq)).toEqual([1, 2, 3, 4]);
  });

  it('replays the same ciphertext, ends replays after the sealed final, and filters by the sealed type', async () => {
    await using server = await startTestBroker();
    const session = await runEncrypted(server.url, { code: CODE, filter: { types: ['stdout'] } });
    expect(session.events.map((event) => event.type)).toEqual(['session_init', 'stdout', 'final']);

    const replay = await fetch(`${server.url}/sessions/${session.sessionId}/events?fromSeq=1`);
    expect(replay.status).toBe(200);
    const replayed = parseWire(await replay.text());
    expect(replayed.map((event) => event.seq)).toEqual([1, 2, 3, 4]);
    // The sealed lines the live stream carried come back byte for byte.
    const live = session.text.split('\n').filter((line) => line !== '');
    expect(replayed.filter((event) => event.seq !== 3).map((event) => JSON.stringify(event))).toEqual(live);
    // The replay (unfiltered) also holds the log event the filter kept off the live stream.
    const fresh = await clientCipherFor(session.keyPair, replayed[0]);
    const opened = await openAll(fresh, replayed);
    expect(opened.map((event) => event.type)).toEqual(['session_init', 'stdout', 'log', 'final']);
    expect(opened[2]).toMatchObject({ payload: { level: 'warn', message: 'quietly' } });
  });

  it('refuses a client key that is not a P-256 point with 400 ENCRYPTION_ERROR, starting nothing', async () => {
    await using server = await startTestBroker();
    const response = await postJson(`${server.url}/execute`, {
      code: 'return 1',
      encryption: { publicKey: 'bm90IGEga2V5' },
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'ENCRYPTION_ERROR', retryable: false } });
    expect(server.broker.health().sessions.total).toBe(0);

    // A valid key from another party is a key like any other: the session starts.
    const stranger = await generateKeyPair();
    const accepted = await postJson(`${server.url}/execute`, {
      code: 'return 1',
      encryption: { publicKey: await exportPublicKey(stranger.publicKey) },
    });
    expect(accepted.status).toBe(200);
    await accepted.text();
  });
});
