import { createSessionCipher, exportPublicKey, generateKeyPair } from '@enclave-vm/stream';
import { createEvent, type EncryptedEvent } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import { BrokerSessionEncryption } from '../../src/sessions/broker-session-encryption.js';
import type { LoggedEvent } from '../../src/sessions/logged-event.js';
import type { SessionStore } from '../../src/sessions/session-store.js';
import { SessionWriter, type WriterLoss } from '../../src/sessions/session-writer.js';

const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** A store that only records appends, each batch with the turn it happened in. */
function recordingStore() {
  const batches: LoggedEvent[][] = [];
  const turns: number[] = [];
  let turn = 0;
  const tick = setInterval(() => turn++, 0);
  const store = {
    expiryGrace: 0,
    async append(_sessionId: string, entries: readonly LoggedEvent[]) {
      batches.push([...entries]);
      turns.push(turn);
      return 'appended';
    },
  } as unknown as SessionStore;
  return { store, batches, turns, stop: () => clearInterval(tick) };
}

async function encryptedSession(sessionId: string) {
  const clientKeys = await generateKeyPair();
  const encryption = await BrokerSessionEncryption.create(
    sessionId,
    await exportPublicKey(clientKeys.publicKey),
  );
  const client = await createSessionCipher({
    role: 'client',
    keyPair: clientKeys,
    remotePublicKey: encryption.params.publicKey,
    sessionId,
    salt: encryption.params.salt,
  });
  return { encryption, client };
}

describe('sealed events through the session writer', () => {
  it('logs sealed entries in seq order, those of one turn in one append, as plain data the client opens', async () => {
    const { encryption, client } = await encryptedSession('ses_a');
    const recording = recordingStore();
    const losses: WriterLoss[] = [];
    const writer = new SessionWriter({
      store: recording.store,
      sessionId: 'ses_a',
      logger: quietLogger,
      retryUntil: Date.now() + 10_000,
      onLost: (loss) => losses.push(loss),
    });
    const stdout = (seq: number) => createEvent('ses_a', seq, 'stdout', { chunk: `${seq}\n` });
    // Many events in one turn, as a runtime message brings them.
    const writes = [2, 3, 4, 5, 6, 7, 8, 9].map((seq) => writer.write(encryption.seal(stdout(seq))));
    await Promise.all(writes);
    await writer.write(encryption.seal(stdout(10)));
    recording.stop();
    expect(losses).toEqual([]);
    expect(recording.batches.map((batch) => batch.map((entry) => entry.seq))).toEqual([
      [2, 3, 4, 5, 6, 7, 8, 9],
      [10],
    ]);
    const entries = recording.batches.flat();
    for (const entry of entries) {
      expect(entry.event.type).toBe('encrypted');
      expect(entry.type).toBe('stdout');
      expect(entry.seq).toBe(entry.event.seq);
    }
    // What a serializing store keeps is all there is: nothing hides outside the JSON form.
    expect(JSON.parse(JSON.stringify(entries))).toEqual(entries);
    const opened = await client.openEvents(entries.map((entry) => entry.event as EncryptedEvent));
    expect(opened.failure).toBeUndefined();
    expect(opened.events.map((event) => [event.seq, event.type, event.payload])).toEqual(
      [2, 3, 4, 5, 6, 7, 8, 9, 10].map((seq) => [seq, 'stdout', { chunk: `${seq}\n` }]),
    );
  });

  it('stops at an event that cannot be sealed, so the log never has a gap, and reports it once', async () => {
    const { encryption } = await encryptedSession('ses_b');
    const recording = recordingStore();
    const losses: WriterLoss[] = [];
    const writer = new SessionWriter({
      store: recording.store,
      sessionId: 'ses_b',
      logger: quietLogger,
      retryUntil: Date.now() + 10_000,
      onLost: (loss) => losses.push(loss),
    });
    await writer.write(encryption.seal(createEvent('ses_b', 2, 'stdout', { chunk: 'kept' })));
    // An event of another session cannot be sealed with this session's cipher.
    const outcomes = await Promise.allSettled([
      writer.write(encryption.seal(createEvent('ses_b', 3, 'stdout', { chunk: 'a' }))),
      writer.write(encryption.seal(createEvent('ses_other', 4, 'stdout', { chunk: 'b' }))),
      writer.write(encryption.seal(createEvent('ses_b', 5, 'stdout', { chunk: 'c' }))),
    ]);
    const later = await Promise.allSettled([writer.write(undefined, { status: 'running' })]);
    recording.stop();
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(later[0]?.status).toBe('rejected');
    expect(recording.batches.map((batch) => batch.map((entry) => entry.seq))).toEqual([[2]]);
    expect(losses).toEqual(['failed']);
  });
});
