import { exportPublicKey, generateKeyPair } from '@enclave-vm/stream';
import type { StreamEvent, WireEvent } from '@enclave-vm/types';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collect } from './broker-helpers.js';
import { clientCipherFor, openAll, parseWire } from './encryption-helpers.js';
import { EventReader, errorOf, postJson, range, seqsOf } from './http-test-helpers.js';
import { type BrokerProcess, startBrokerProcess, startClusterBroker } from './redis-cluster-helpers.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

const processes: BrokerProcess[] = [];
afterEach(async () => {
  await Promise.all(processes.splice(0).map((process) => process.script.stop('SIGTERM')));
});

/** Code that waits for the client forever (until its broker is lost). */
const WAITING = 'console.log("waiting"); return await tools.ask({})';

describe('a broker killed with SIGKILL', () => {
  it('has each of its sessions ended by another broker with BROKER_LOST and exactly one final, plain or sealed', {
    timeout: 60_000,
  }, async () => {
    const keyPrefix = `death:${Date.now()}:`;
    // Two broker processes; the first runs the sessions and is killed. An in-process broker follows too.
    const doomed = await startBrokerProcess(redis.url, keyPrefix, 1000);
    processes.push(doomed);
    const survivor = await startBrokerProcess(redis.url, keyPrefix, 1000);
    processes.push(survivor);
    await using watcher = await startClusterBroker(redis.url, keyPrefix, { leaseTimeout: 1000 });

    const plain = await postJson(`${doomed.url}/execute`, { code: WAITING });
    const plainId = plain.headers.get('x-session-id') ?? '';
    const keyPair = await generateKeyPair();
    const sealed = await postJson(`${doomed.url}/execute`, {
      code: WAITING,
      encryption: { publicKey: await exportPublicKey(keyPair.publicKey) },
    });
    const sealedId = sealed.headers.get('x-session-id') ?? '';
    // Both wait for their tool call before the owner dies.
    const plainOnOwner = new EventReader(plain);
    const plainSeen = [await plainOnOwner.next(), await plainOnOwner.next(), await plainOnOwner.next()];
    expect(plainSeen.map((event) => event.type)).toEqual(['session_init', 'stdout', 'tool_call']);
    const sealedOnOwner = sealed.body?.getReader();
    await sealedOnOwner?.read();

    // Followers on the other brokers, from the start.
    const plainOnSurvivor = fetch(`${survivor.url}/sessions/${plainId}/events`).then((response) =>
      response.text(),
    );
    const sealedOnSurvivor = fetch(`${survivor.url}/sessions/${sealedId}/events`).then((response) =>
      response.text(),
    );
    const plainOnWatcher = collect(watcher.broker.streamEvents(plainId));
    await new Promise((resolve) => setTimeout(resolve, 200));

    doomed.script.child.kill('SIGKILL');
    await doomed.script.exited;

    const plainEvents = parseWire(await plainOnSurvivor) as StreamEvent[];
    expect(seqsOf(plainEvents)).toEqual(range(1, plainEvents.length));
    expect(plainEvents.map((event) => event.type)).toEqual([
      'session_init',
      'stdout',
      'tool_call',
      'error',
      'final',
    ]);
    expect(plainEvents[3]).toMatchObject({ payload: { code: 'BROKER_LOST', recoverable: false } });
    expect(plainEvents[4]).toMatchObject({ payload: { ok: false, error: { code: 'BROKER_LOST' } } });
    expect(await plainOnWatcher).toEqual(plainEvents);

    // Keys never left the dead broker, yet the client opens the sealed end it prepared.
    const sealedWire = parseWire(await sealedOnSurvivor);
    const cipher = await clientCipherFor(keyPair, sealedWire[0] as WireEvent);
    const sealedEvents = await openAll(cipher, sealedWire);
    expect(sealedWire.slice(1).every((event) => event.type === 'encrypted')).toBe(true);
    expect(sealedEvents.slice(-2)).toMatchObject([
      { type: 'error', payload: { code: 'BROKER_LOST' } },
      { type: 'final', payload: { ok: false, error: { code: 'BROKER_LOST' } } },
    ]);
    expect(seqsOf(sealedEvents)).toEqual(range(1, sealedEvents.length));

    // Two brokers noticed; the log still holds one end.
    for (const [sessionId, count] of [
      [plainId, plainEvents.length],
      [sealedId, sealedEvents.length],
    ] as const) {
      const replay = parseWire(await (await fetch(`${watcher.url}/sessions/${sessionId}/events`)).text());
      expect(replay).toHaveLength(count);
      const info = await (await fetch(`${survivor.url}/sessions/${sessionId}`)).json();
      expect(info).toMatchObject({ status: 'error', error: { code: 'BROKER_LOST' }, lastSeq: count });
    }
    const late = await postJson(`${survivor.url}/sessions/${plainId}/tool-result`, {
      callId: (plainSeen[2] as Extract<StreamEvent, { type: 'tool_call' }>).payload.callId,
      result: 'too late',
    });
    expect(await errorOf(late)).toMatchObject({ status: 409, code: 'SESSION_ENDED' });

    // The cluster goes on without it.
    const next = await postJson(`${survivor.url}/execute`, { code: 'return 41 + 1' });
    expect(parseWire(await next.text()).at(-1)).toMatchObject({
      type: 'final',
      payload: { ok: true, result: 42 },
    });
  });
});
