import { exportPublicKey, generateKeyPair } from '@enclave-vm/stream';
import type { EncryptedEvent, StreamEvent, WireEvent } from '@enclave-vm/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientCipherFor, openAll, parseWire } from './encryption-helpers.js';
import { errorOf, postJson } from './http-test-helpers.js';
import { startCluster } from './redis-cluster-helpers.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

const ASK_TWICE = `
  const name = await tools.askUser({ question: 'name?' });
  console.log('hello ' + name);
  const city = await tools.askUser({ question: 'city?' });
  return name + ' from ' + city;
`;

describe('an encrypted session across brokers', () => {
  it('is followed and answered through a broker that never holds its keys', async () => {
    await using cluster = await startCluster(redis.url, 2);
    const [owner, other] = cluster.brokers as [(typeof cluster.brokers)[0], (typeof cluster.brokers)[0]];
    const keyPair = await generateKeyPair();
    const started = await postJson(`${owner.url}/execute`, {
      code: ASK_TWICE,
      encryption: { publicKey: await exportPublicKey(keyPair.publicKey) },
    });
    const sessionId = started.headers.get('x-session-id') ?? '';
    const ownerText = started.text();

    // The client follows on the other broker only.
    const response = await fetch(`${other.url}/sessions/${sessionId}/events`);
    const reader = response.body?.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    const decoder = new TextDecoder();
    let buffered = '';
    const wire: WireEvent[] = [];
    const nextWire = async (): Promise<WireEvent> => {
      for (;;) {
        const newline = buffered.indexOf('\n');
        if (newline !== -1) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          const event = parseWire(line)[0] as WireEvent;
          wire.push(event);
          return event;
        }
        const chunk = await reader.read();
        if (chunk.done) throw new Error('the stream ended');
        buffered += decoder.decode(chunk.value, { stream: true });
      }
    };
    const cipher = await clientCipherFor(keyPair, await nextWire());
    const nextEvent = async (): Promise<StreamEvent> => {
      const event = await nextWire();
      expect(event.type).toBe('encrypted');
      return cipher.openEvent(event as EncryptedEvent);
    };
    const untilCall = async (): Promise<string> => {
      for (;;) {
        const event = await nextEvent();
        if (event.type === 'tool_call') return event.payload.callId;
      }
    };

    const firstCall = await untilCall();
    // A plain answer is refused by the owner (the session is encrypted), relayed back by the other broker.
    const plain = await postJson(`${other.url}/sessions/${sessionId}/tool-result`, {
      callId: firstCall,
      result: 'x',
    });
    expect(await errorOf(plain)).toMatchObject({ status: 400, code: 'ENCRYPTION_ERROR' });
    const sealed = await cipher.sealMessage({ callId: firstCall, result: 'Ada' });
    const accepted = await postJson(`${other.url}/sessions/${sessionId}/tool-result`, {
      callId: firstCall,
      encrypted: sealed,
    });
    expect(accepted.status).toBe(200);
    // The same sealed message again is a replay: refused, and the session goes on.
    const replayed = await postJson(`${other.url}/sessions/${sessionId}/tool-result`, {
      callId: firstCall,
      encrypted: sealed,
    });
    expect(await errorOf(replayed)).toMatchObject({ status: 400, code: 'ENCRYPTION_ERROR' });

    const secondCall = await untilCall();
    await postJson(`${other.url}/sessions/${sessionId}/tool-result`, {
      callId: secondCall,
      encrypted: await cipher.sealMessage({ callId: secondCall, result: 'Paris' }),
    });
    let last: StreamEvent;
    do last = await nextEvent();
    while (last.type !== 'final');
    expect(last.payload).toMatchObject({ ok: true, result: 'Ada from Paris' });

    // Both brokers served the very same ciphertext; only the client could open it.
    const ownerWire = parseWire(await ownerText);
    expect(wire).toEqual(ownerWire);
    const opened = await openAll(await clientCipherFor(keyPair, ownerWire[0]), ownerWire.slice(1));
    expect(opened.filter((event) => event.type === 'stdout')).toMatchObject([
      { payload: { chunk: 'hello Ada\n' } },
    ]);
    expect(JSON.stringify(wire)).not.toContain('Paris');
  });
});
