import {
  createEvent,
  EnclaveError,
  type EncryptedEvent,
  EncryptedEventSchema,
  EVENT_FIXTURES,
  type StreamEvent,
  StreamEventSchema,
} from '@enclave-vm/types';
import { beforeEach, describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64 } from './base64.js';
import { generateSalt } from './generate-salt.js';
import { exportPublicKey, generateKeyPair } from './key-pair.js';
import { createSessionCipher, type SealedMessage, type SessionCipher } from './session-cipher.js';

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
    expect(client.lastOpenedSeq).toBe(8);
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
    ];
    for (const attempt of invalid) expect((await rejectionOf(attempt)).code).toBe('CONFIGURATION_ERROR');
    const badKey = await rejectionOf(
      createSessionCipher({ role: 'server', keyPair, remotePublicKey: 'AAAA', sessionId: SESSION }),
    );
    expect(badKey.code).toBe('ENCRYPTION_ERROR');
  });
});
