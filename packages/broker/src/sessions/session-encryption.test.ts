import { createSessionCipher, exportPublicKey, generateKeyPair } from '@enclave-vm/stream';
import { createEvent, type EncryptedEvent, type StreamEvent } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import { loggedTypeOf, SessionEncryption } from './session-encryption.js';
import type { SessionStore } from './session-store.js';

/** A store that only records appends, with the turn each happened in. */
function recordingStore() {
  const appended: StreamEvent[] = [];
  const turns: number[] = [];
  let turn = 0;
  const tick = setInterval(() => turn++, 0);
  const store = {
    async appendEvent(event: StreamEvent) {
      appended.push(event);
      turns.push(turn);
    },
  } as unknown as SessionStore;
  return { store, appended, turns, stop: () => clearInterval(tick) };
}

describe('SessionEncryption.append', () => {
  it('logs sealed events in seq order, those of one turn together, and reports a failed one alone', async () => {
    const clientKeys = await generateKeyPair();
    const encryption = await SessionEncryption.create('ses_a', await exportPublicKey(clientKeys.publicKey));
    const client = await createSessionCipher({
      role: 'client',
      keyPair: clientKeys,
      remotePublicKey: encryption.params.publicKey,
      sessionId: 'ses_a',
      salt: encryption.params.salt,
    });
    const recording = recordingStore();
    const stdout = (seq: number) => createEvent('ses_a', seq, 'stdout', { chunk: `${seq}\n` });
    // Many events in one turn, one of which cannot be sealed (it is another session's).
    const appends = [2, 3, 4, 5, 6, 7, 8, 9].map((seq) =>
      encryption.append(
        seq === 5 ? createEvent('ses_b', 5, 'stdout', { chunk: 'x' }) : stdout(seq),
        recording.store,
      ),
    );
    const later = encryption.append(stdout(10), recording.store);
    const outcomes = await Promise.allSettled([...appends, later]);
    recording.stop();
    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    expect(recording.appended.map((event) => event.seq)).toEqual([2, 3, 4, 6, 7, 8, 9, 10]);
    // The events of the first turn entered the log in one turn.
    expect(new Set(recording.turns.slice(0, 7)).size).toBe(1);
    for (const event of recording.appended) {
      expect(event.type).toBe('encrypted');
      expect(loggedTypeOf(event)).toBe('stdout');
    }
    const opened = await client.openEvents(recording.appended as unknown as EncryptedEvent[]);
    expect(opened.failure).toBeUndefined();
    expect(opened.events.map((event) => [event.seq, event.type, event.payload])).toEqual(
      [2, 3, 4, 6, 7, 8, 9, 10].map((seq) => [seq, 'stdout', { chunk: `${seq}\n` }]),
    );
  });
});
