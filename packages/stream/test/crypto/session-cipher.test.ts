import {
  createEvent,
  EnclaveError,
  type EncryptedEvent,
  EncryptedEventSchema,
  type StreamEvent,
  StreamEventSchema,
} from '@enclave-vm/types';
import { EVENT_FIXTURES } from '@enclave-vm/types/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeBase64, encodeBase64 } from '../../src/crypto/base64.js';
import { generateSalt } from '../../src/crypto/generate-salt.js';
import { exportPublicKey, generateKeyPair } from '../../src/crypto/key-pair.js';
import {
  createSessionCipher,
  type SealedMessage,
  type SessionCipher,
} from '../../src/crypto/session-cipher.js';

const SESSION = 'ses_fixture1';

async function rejectionOf(promise: Promise<unknown>): Promise<EnclaveError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(EnclaveError.isInstance(error), `expected an EnclaveError, got ${String(error)}`).toBe(true);
  return error as EnclaveError;
}

function flipByte(base64: string, index: number): string {
  const bytes = decodeBase64(base64);
  bytes[index] = bytes[index]! ^ 1;
  return encodeBase64(bytes);
}

const stdout = (seq: number, chunk = `line ${seq}\n`): StreamEvent =>
  createEvent(SESSION, seq, 'stdout', { chunk }, 1_767_225_600_000 + seq);

/** A broker-side and a client-side cipher of one session, as the handshake of `POST /execute` makes them. */
async function pair(sessionId = SESSION) {
  const brokerKeys = await generateKeyPair();
  const clientKeys = await generateKeyPair();
  const salt = generateSalt();
  const server = await createSessionCipher({
    role: 'server',
    keyPair: brokerKeys,
    remotePublicKey: await exportPublicKey(clientKeys.publicKey),
    sessionId,
    salt,
  });
  const client = await createSessionCipher({
    role: 'client',
    keyPair: clientKeys,
    remotePublicKey: await exportPublicKey(brokerKeys.publicKey),
    sessionId,
    salt,
  });
  return { server, client, brokerKeys, clientKeys, salt };
}

let server: SessionCipher;
let client: SessionCipher;

beforeEach(async () => {
  ({ server, client } = await pair());
});

describe('SessionCipher events', () => {
  it('seals every event type with a readable envelope and opens it back unchanged', async () => {
    const events = Object.values(EVENT_FIXTURES).filter(
      (event) => event.type !== 'encrypted',
    ) as StreamEvent[];
    for (const event of events) {
      const sealed = await server.sealEvent(event);
      expect(EncryptedEventSchema.parse(sealed)).toEqual(sealed);
      expect(sealed).toMatchObject({
        protocolVersion: event.protocolVersion,
        sessionId: event.sessionId,
        seq: event.seq,
        ts: event.ts,
        type: 'encrypted',
      });
      // Nothing of the payload is readable on the wire (base64 never contains `{` or `"`).
      expect(Object.keys(sealed.payload)).toEqual(['iv', 'ciphertext']);
      expect(JSON.stringify(sealed)).not.toContain(JSON.stringify(event.payload));
      const opened = await client.openEvent(sealed);
      expect(opened).toEqual(event);
      expect(StreamEventSchema.parse(opened)).toEqual(event);
    }
    expect(client.lastOpenedSeq).toBe(Math.max(...events.map((event) => event.seq)));
  });

  it('refuses an event whose ciphertext, IV, seq or session id was changed, and then opens the genuine one', async () => {
    const sealed = await server.sealEvent(stdout(2));
    const tampered: [EncryptedEvent, RegExp][] = [
      [
        { ...sealed, payload: { ...sealed.payload, ciphertext: flipByte(sealed.payload.ciphertext, 3) } },
        /failed authentication/,
      ],
      [
        { ...sealed, payload: { ...sealed.payload, iv: flipByte(sealed.payload.iv, 5) } },
        /failed authentication/,
      ],
      [{ ...sealed, seq: 3 }, /Event seq 3 of session ses_fixture1 failed authentication/],
      [{ ...sealed, sessionId: 'ses_other' }, /belongs to session "ses_other"/],
    ];
    for (const [event, message] of tampered) {
      const error = await rejectionOf(client.openEvent(event));
      expect(error.code).toBe('ENCRYPTION_ERROR');
      expect(error.message).toMatch(message);
    }
    expect(client.lastOpenedSeq).toBe(0);
    expect(await client.openEvent(sealed)).toEqual(stdout(2));
  });

  it('refuses a replayed event and an event older than the last opened one', async () => {
    const second = await server.sealEvent(stdout(2));
    const third = await server.sealEvent(stdout(3));
    const fourth = await server.sealEvent(stdout(4));
    await client.openEvent(second);
    await client.openEvent(fourth);

    const replay = await rejectionOf(client.openEvent(fourth));
    expect(replay.code).toBe('ENCRYPTION_ERROR');
    expect(replay.message).toMatch(/seq 4 is not after the last opened event \(seq 4\)/);
    const reordered = await rejectionOf(client.openEvent(third));
    expect(reordered.message).toMatch(
      /seq 3 is not after the last opened event \(seq 4\): it is replayed or out of order/,
    );

    expect(await client.openEvent(await server.sealEvent(stdout(5)))).toEqual(stdout(5));
  });

  it('processes concurrent openEvent calls in call order', async () => {
    const sealed = await Promise.all([2, 3, 4, 5, 6].map((seq) => server.sealEvent(stdout(seq))));
    const opened = await Promise.all(sealed.map((event) => client.openEvent(event)));
    expect(opened.map((event) => event.seq)).toEqual([2, 3, 4, 5, 6]);
    const replays = await Promise.allSettled([client.openEvent(sealed[4]!), client.openEvent(sealed[4]!)]);
    expect(replays.map((result) => result.status)).toEqual(['rejected', 'rejected']);
  });

  it('refuses events sealed for another session, with another salt or by another broker', async () => {
    const one = await pair('ses_one');
    const serverOptions = { role: 'server' as const, remotePublicKey: one.clientKeys.publicKey };
    const withOtherSalt = await createSessionCipher({
      ...serverOptions,
      keyPair: one.brokerKeys,
      sessionId: 'ses_one',
      salt: generateSalt(),
    });
    const otherBroker = await createSessionCipher({
      ...serverOptions,
      keyPair: await generateKeyPair(),
      sessionId: 'ses_one',
      salt: one.salt,
    });
    const sameKeysOtherSession = await createSessionCipher({
      ...serverOptions,
      keyPair: one.brokerKeys,
      sessionId: 'ses_two',
      salt: one.salt,
    });
    const event = createEvent('ses_one', 2, 'stdout', { chunk: 'x' });
    for (const sealer of [withOtherSalt, otherBroker]) {
      const error = await rejectionOf(one.client.openEvent(await sealer.sealEvent(event)));
      expect(error.message).toMatch(/failed authentication/);
    }
    // Sealed for ses_two and relabelled as ses_one: the additional data does not match.
    const relabelled = {
      ...(await sameKeysOtherSession.sealEvent(createEvent('ses_two', 2, 'stdout', { chunk: 'x' }))),
      sessionId: 'ses_one',
    };
    expect((await rejectionOf(one.client.openEvent(relabelled))).message).toMatch(/failed authentication/);
    expect(await one.client.openEvent(await one.server.sealEvent(event))).toEqual(event);
  });

  it('refuses to seal an event of another session or an already encrypted one', async () => {
    const foreign = await rejectionOf(
      server.sealEvent(createEvent('ses_other', 2, 'stdout', { chunk: 'x' })),
    );
    expect(foreign.code).toBe('ENCRYPTION_ERROR');
    expect(foreign.message).toMatch(
      /belongs to session "ses_other", but this cipher is bound to session "ses_fixture1"/,
    );
    const sealed = await server.sealEvent(stdout(2));
    const again = await rejectionOf(server.sealEvent(sealed as unknown as StreamEvent));
    expect(again.message).toMatch(/already encrypted/);
  });

  it('only lets the server seal events and the client open them', async () => {
    const sealed = await server.sealEvent(stdout(2));
    const clientSeals = await rejectionOf(client.sealEvent(stdout(2)));
    expect(clientSeals.code).toBe('CONFIGURATION_ERROR');
    expect(clientSeals.message).toMatch(/Only a 'server' session cipher can seal events/);
    expect((await rejectionOf(server.openEvent(sealed))).message).toMatch(
      /Only a 'client' session cipher can open events/,
    );
  });
});

describe('SessionCipher messages', () => {
  it('seals client values bound to a counter and opens them on the server', async () => {
    const first = await client.sealMessage({ callId: 'call_1', result: { users: ['ada'] } });
    const second = await client.sealMessage({ callId: 'call_2', result: null });
    expect(first.counter).toBe(1);
    expect(second.counter).toBe(2);
    expect(await server.openMessage(first)).toEqual({ callId: 'call_1', result: { users: ['ada'] } });
    expect(await server.openMessage(second)).toEqual({ callId: 'call_2', result: null });
    const chosen = await client.sealMessage('chosen counter', 10);
    expect(chosen.counter).toBe(10);
    expect((await client.sealMessage('next')).counter).toBe(11);
  });

  it('accepts counters out of order but each only once', async () => {
    const messages = await Promise.all([1, 2, 3].map((counter) => client.sealMessage({ counter }, counter)));
    expect(await server.openMessage(messages[2]!)).toEqual({ counter: 3 });
    expect(await server.openMessage(messages[0]!)).toEqual({ counter: 1 });
    const replay = await rejectionOf(server.openMessage(messages[0]!));
    expect(replay.code).toBe('ENCRYPTION_ERROR');
    expect(replay.message).toMatch(/counter 1 was already opened \(replay\)/);
    expect(await server.openMessage(messages[1]!)).toEqual({ counter: 2 });
  });

  it('refuses a counter too far behind the highest opened one', async () => {
    const { brokerKeys, clientKeys, salt } = await pair();
    const options = { keyPair: brokerKeys, remotePublicKey: clientKeys.publicKey, sessionId: SESSION, salt };
    const narrow = await createSessionCipher({ ...options, role: 'server', messageReplayWindow: 4 });
    const sender = await createSessionCipher({
      role: 'client',
      keyPair: clientKeys,
      remotePublicKey: brokerKeys.publicKey,
      sessionId: SESSION,
      salt,
    });
    const old = await sender.sealMessage('old', 1);
    await narrow.openMessage(await sender.sealMessage('new', 10));
    expect((await rejectionOf(narrow.openMessage(old))).message).toMatch(/counter 1 is too old/);
    expect(await narrow.openMessage(await sender.sealMessage('recent', 7))).toBe('recent');
  });

  it('refuses a message whose counter, IV or ciphertext was changed, keeping the genuine one acceptable', async () => {
    const sealed = await client.sealMessage({ ok: true }, 5);
    const tampered: SealedMessage[] = [
      { ...sealed, counter: 6 },
      { ...sealed, iv: flipByte(sealed.iv, 0) },
      { ...sealed, ciphertext: flipByte(sealed.ciphertext, 0) },
    ];
    for (const message of tampered) {
      const error = await rejectionOf(server.openMessage(message));
      expect(error.message).toMatch(/failed authentication/);
    }
    expect(await server.openMessage(sealed)).toEqual({ ok: true });
  });

  it('never accepts an event as a message or a message as an event (reflection)', async () => {
    const message = await client.sealMessage({ type: 'stdout', payload: { chunk: 'forged' } }, 2);
    const asEvent: EncryptedEvent = {
      ...EVENT_FIXTURES.encrypted,
      seq: 2,
      payload: { iv: message.iv, ciphertext: message.ciphertext },
    };
    expect((await rejectionOf(client.openEvent(asEvent))).message).toMatch(/failed authentication/);

    const event = await server.sealEvent(stdout(2));
    const asMessage: SealedMessage = { counter: 2, ...event.payload };
    expect((await rejectionOf(server.openMessage(asMessage))).message).toMatch(/failed authentication/);
  });

  it('reports values JSON cannot carry as BAD_REQUEST', async () => {
    expect((await rejectionOf(client.sealMessage(undefined))).code).toBe('BAD_REQUEST');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect((await rejectionOf(client.sealMessage(cyclic))).code).toBe('BAD_REQUEST');
    expect((await rejectionOf(client.sealMessage('x', 0))).message).toMatch(/positive integer, got 0/);
  });
});

describe('createSessionCipher', () => {
  it('reports invalid options as CONFIGURATION_ERROR', async () => {
    const keyPair = await generateKeyPair();
    const remotePublicKey = (await generateKeyPair()).publicKey;
    const invalid = [
      createSessionCipher({ role: 'peer' as 'server', keyPair, remotePublicKey, sessionId: SESSION }),
      createSessionCipher({ role: 'server', keyPair, remotePublicKey, sessionId: '' }),
      createSessionCipher({
        role: 'server',
        keyPair,
        remotePublicKey,
        sessionId: SESSION,
        messageReplayWindow: 0,
      }),
      createSessionCipher({ role: 'server', keyPair, remotePublicKey, sessionId: SESSION, maxInFlight: 0 }),
    ];
    for (const attempt of invalid) expect((await rejectionOf(attempt)).code).toBe('CONFIGURATION_ERROR');
    const badKey = await rejectionOf(
      createSessionCipher({ role: 'server', keyPair, remotePublicKey: 'AAAA', sessionId: SESSION }),
    );
    expect(badKey.code).toBe('ENCRYPTION_ERROR');
  });
});

/** Changes one byte of an event's ciphertext, as an attacker on the path would. */
function tamper(event: EncryptedEvent): EncryptedEvent {
  return { ...event, payload: { ...event.payload, ciphertext: flipByte(event.payload.ciphertext, 0) } };
}

/**
 * Wraps Web Crypto's `method` to count the calls running at once, and optionally to finish them
 * late: `delayOf(callIndex)` ms after Web Crypto itself finished.
 */
function watchSubtle(method: 'encrypt' | 'decrypt', delayOf: (call: number) => number = () => 0) {
  const subtle = globalThis.crypto.subtle;
  const original = subtle[method].bind(subtle);
  const watch = { running: 0, most: 0, calls: 0 };
  vi.spyOn(subtle, method).mockImplementation(async (...args: Parameters<SubtleCrypto['decrypt']>) => {
    const call = watch.calls++;
    watch.running++;
    watch.most = Math.max(watch.most, watch.running);
    try {
      const result = await original(...args);
      const delay = delayOf(call);
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      return result;
    } finally {
      watch.running--;
    }
  });
  return watch;
}

describe('SessionCipher pipelined opening', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const sealRange = (from: number, to: number) =>
    server.sealEvents(Array.from({ length: to - from + 1 }, (_, index) => stdout(from + index)));

  it('opens a batch in seq order with overlapping decryptions', async () => {
    const sealed = await sealRange(2, 201);
    expect(sealed.map((event) => event.seq)).toEqual(Array.from({ length: 200 }, (_, index) => index + 2));
    const watch = watchSubtle('decrypt');
    const opened = await client.openEvents(sealed);
    expect(opened.failure).toBeUndefined();
    expect(opened.events).toEqual(Array.from({ length: 200 }, (_, index) => stdout(index + 2)));
    expect(client.lastOpenedSeq).toBe(201);
    // Pipelined, not one at a time.
    expect(watch.most).toBeGreaterThan(1);
    expect(await client.openEvents([])).toEqual({ events: [] });
  });

  it('settles concurrent openEvent calls in call order even when later decryptions finish first', async () => {
    const sealed = await sealRange(2, 9);
    // The first calls finish last.
    watchSubtle('decrypt', (call) => (8 - call) * 5);
    const settled: number[] = [];
    const seenLastOpened: number[] = [];
    const opened = await Promise.all(
      sealed.map((event) =>
        client.openEvent(event).then((plain) => {
          settled.push(plain.seq);
          seenLastOpened.push(client.lastOpenedSeq);
          return plain;
        }),
      ),
    );
    expect(opened.map((event) => event.seq)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect(settled).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    // Later events had already been opened when the first callbacks ran; never a step back.
    expect(seenLastOpened).toEqual([...seenLastOpened].sort((a, b) => a - b));
    expect(client.lastOpenedSeq).toBe(9);
  });

  it('stops a batch at a tampered event: the events before it are opened, those after it are not, and can be offered again', async () => {
    const sealed = await sealRange(2, 7);
    const batch = [...sealed];
    batch[2] = tamper(sealed[2]!);
    const first = await client.openEvents(batch);
    expect(first.events.map((event) => event.seq)).toEqual([2, 3]);
    expect(first.failure?.code).toBe('ENCRYPTION_ERROR');
    expect(first.failure?.message).toMatch(/Event seq 4 of session ses_fixture1 failed authentication/);
    // Nothing after the refused event was opened: the cipher is as after seq 3.
    expect(client.lastOpenedSeq).toBe(3);
    const again = await client.openEvents(sealed.slice(2));
    expect(again).toEqual({ events: [4, 5, 6, 7].map((seq) => stdout(seq)) });
    // Replays of anything opened are still refused.
    const replay = await client.openEvents([sealed[5]!]);
    expect(replay.failure?.message).toMatch(/seq 7 is not after the last opened event \(seq 7\)/);
  });

  it('refuses a foreign, malformed or replayed event in the middle of a batch the same way', async () => {
    const other = await pair('ses_other');
    const sealed = await sealRange(2, 4);
    const foreign = await other.server.sealEvent(createEvent('ses_other', 3, 'stdout', { chunk: 'x' }));
    const foreignHere = await other.server.sealEvent(createEvent('ses_other', 3, 'stdout', { chunk: 'x' }));
    const notBase64 = { ...sealed[1]!, payload: { ...sealed[1]!.payload, iv: '!!!!!!!!!!!!!!!!' } };

    const first = await client.openEvents([sealed[0]!, foreign, sealed[2]!]);
    expect(first.events.map((event) => event.seq)).toEqual([2]);
    expect(first.failure?.message).toMatch(/belongs to session "ses_other"/);
    // Sealed by another broker, relabelled for this session: authentication fails.
    const relabelled = await client.openEvents([{ ...foreignHere, sessionId: SESSION }, sealed[2]!]);
    expect(relabelled.failure?.message).toMatch(/Event seq 3 of session ses_fixture1 failed authentication/);
    const malformed = await client.openEvents([notBase64, sealed[2]!]);
    expect(malformed.failure?.message).toMatch(/The IV is not valid base64/);
    const replayed = await client.openEvents([sealed[0]!, sealed[1]!, sealed[2]!]);
    expect(replayed.failure?.message).toMatch(/seq 2 is not after the last opened event \(seq 2\)/);
    for (const refused of [relabelled, malformed, replayed]) {
      expect(refused.events).toEqual([]);
      expect(refused.failure?.code).toBe('ENCRYPTION_ERROR');
    }
    expect(client.lastOpenedSeq).toBe(2);
    expect(await client.openEvents(sealed.slice(1))).toEqual({ events: [stdout(3), stdout(4)] });
  });

  it('handles concurrent single calls as one at a time would: a tampered event changes nothing', async () => {
    const sealed = await sealRange(2, 6);
    const results = await Promise.allSettled([
      client.openEvent(sealed[0]!),
      client.openEvent(tamper(sealed[1]!)),
      // The genuine seq 3 races the tampered one: it is checked after it failed, and accepted.
      client.openEvent(sealed[1]!),
      // A replay racing its original is refused.
      client.openEvent(sealed[1]!),
      client.openEvent(sealed[2]!),
      client.openEvent(sealed[4]!),
      // Older than seq 6, opened just before: refused.
      client.openEvent(sealed[3]!),
    ]);
    expect(results.map((result) => result.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
      'rejected',
    ]);
    const reasons = results.map((result) =>
      result.status === 'rejected' ? (result.reason as EnclaveError) : undefined,
    );
    expect(reasons[1]?.message).toMatch(/seq 3 of session ses_fixture1 failed authentication/);
    expect(reasons[3]?.message).toMatch(/seq 3 is not after the last opened event \(seq 3\)/);
    expect(reasons[6]?.message).toMatch(/seq 5 is not after the last opened event \(seq 6\)/);
    expect(client.lastOpenedSeq).toBe(6);
  });

  it('keeps at most maxInFlight decryptions and encryptions running', async () => {
    const { server: bounded, client: boundedClient } = await pairWith({ maxInFlight: 3 });
    const encrypting = watchSubtle('encrypt');
    const sealed = await bounded.sealEvents(Array.from({ length: 40 }, (_, index) => stdout(index + 2)));
    expect(encrypting.calls).toBe(40);
    expect(encrypting.most).toBeLessThanOrEqual(3);
    expect(encrypting.most).toBeGreaterThan(1);
    const decrypting = watchSubtle('decrypt');
    const opened = await boundedClient.openEvents(sealed);
    expect(opened.events).toHaveLength(40);
    expect(decrypting.calls).toBe(40);
    expect(decrypting.most).toBeLessThanOrEqual(3);
    expect(decrypting.most).toBeGreaterThan(1);
    // Single calls share the bound.
    const more = await Promise.all(
      Array.from({ length: 10 }, (_, index) => bounded.sealEvent(stdout(42 + index))),
    );
    await Promise.all(more.map((event) => boundedClient.openEvent(event)));
    expect(decrypting.most).toBeLessThanOrEqual(3);
    expect(boundedClient.lastOpenedSeq).toBe(51);
  });

  it('only lets a client cipher open batches', async () => {
    expect((await rejectionOf(server.openEvents([]))).code).toBe('CONFIGURATION_ERROR');
    expect((await rejectionOf(client.sealEvents([stdout(2)]))).code).toBe('CONFIGURATION_ERROR');
  });
});

/** Like {@link pair}, with extra options on both ciphers. */
async function pairWith(extra: { maxInFlight: number }) {
  const brokerKeys = await generateKeyPair();
  const clientKeys = await generateKeyPair();
  const salt = generateSalt();
  const bounded = await createSessionCipher({
    role: 'server',
    keyPair: brokerKeys,
    remotePublicKey: clientKeys.publicKey,
    sessionId: SESSION,
    salt,
    ...extra,
  });
  const boundedClient = await createSessionCipher({
    role: 'client',
    keyPair: clientKeys,
    remotePublicKey: brokerKeys.publicKey,
    sessionId: SESSION,
    salt,
    ...extra,
  });
  return { server: bounded, client: boundedClient };
}
