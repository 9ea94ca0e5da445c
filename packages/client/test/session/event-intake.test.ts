import {
  createSessionCipher,
  exportPublicKey,
  generateKeyPair,
  generateSalt,
  resumable,
} from '@enclave-vm/stream';
import { createEvent, EnclaveError, type EncryptedEvent, type StreamEvent } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import { ClientSessionEncryption } from '../../src/encryption/client-session-encryption.js';
import { checkEnvelopes } from '../../src/session/event-envelope.js';
import { EventIntake } from '../../src/session/event-intake.js';

const limits = {
  timeout: 1000,
  maxCpuTime: 1000,
  maxToolCalls: 1,
  toolTimeout: 1000,
  memoryLimit: 1,
  maxStackSize: 1,
  maxStdoutBytes: 1,
  maxResultBytes: 1,
  maxToolArgsBytes: 1,
  maxToolResultBytes: 1,
};

function stdout(seq: number): StreamEvent {
  return createEvent('ses_a', seq, 'stdout', { chunk: `${seq}\n` });
}

/**
 * Reads connections of received lines the way a session does: through the wire's resumable reader
 * (order, duplicates, gaps: a connection that ends or skips a seq is replaced by the next one, from
 * the first missing seq), the envelope check, then the intake. Returns what the intake delivered,
 * the error that ended the reading, and the seq each connection was opened from.
 */
async function readThrough(
  intake: EventIntake,
  connections: unknown[][],
  options: { skipsSeqs?: boolean } = {},
) {
  const opened: number[] = [];
  const reader = resumable(
    checkEnvelopes(async (fromSeq) => {
      opened.push(fromSeq);
      const lines = connections[opened.length - 1];
      if (lines === undefined) throw new EnclaveError('SESSION_ENDED', 'No more connections');
      return {
        skipsSeqs: options.skipsSeqs,
        async *[Symbol.asyncIterator]() {
          yield lines;
        },
      };
    }),
    { heartbeatTimeout: 0, retry: { initialDelay: 0, jitter: 0 } },
  );
  const events: StreamEvent[] = [];
  let failure: EnclaveError | undefined;
  try {
    for await (const batch of reader) {
      const result = await intake.accept(batch);
      events.push(...result.events);
      if (result.failure !== undefined) {
        failure = result.failure;
        break;
      }
    }
  } catch (error) {
    if ((error as EnclaveError).code !== 'SESSION_ENDED') failure = error as EnclaveError;
  }
  return { seqs: events.map((event) => event.seq), events, failure, opened };
}

describe('EventIntake', () => {
  it('takes each seq once, in order, and resumes from the first missing seq at a gap', async () => {
    const read = await readThrough(new EventIntake(), [
      [stdout(1), stdout(2), stdout(2), stdout(1), stdout(3)],
      [stdout(3), stdout(4), stdout(6), stdout(7)],
      [stdout(5), stdout(6)],
    ]);
    expect(read.seqs).toEqual([1, 2, 3, 4, 5, 6]);
    expect(read.opened).toEqual([1, 4, 5, 7]);

    // On a stream the broker filters, skipped seqs are expected.
    const filtered = await readThrough(new EventIntake(), [[stdout(6), stdout(9)]], { skipsSeqs: true });
    expect(filtered.seqs).toEqual([6, 9]);
  });

  it('refuses events of another session and lines that are not events', async () => {
    const intake = new EventIntake();
    intake.expectSession('ses_a');
    expect(await intake.accept([createEvent('ses_b', 1, 'heartbeat', {})])).toMatchObject({
      events: [],
      failure: { code: 'PROTOCOL_ERROR' },
    });
    // The good events before a refused line are kept; nothing after it is taken.
    const partial = await readThrough(new EventIntake(), [[stdout(1), { seq: 'one' }, stdout(2)]]);
    expect(partial.seqs).toEqual([1]);
    expect(partial.failure?.code).toBe('PROTOCOL_ERROR');
    const newer = await readThrough(new EventIntake(), [[{ ...stdout(1), protocolVersion: '2.0' }]]);
    expect(newer.failure?.code).toBe('PROTOCOL_VERSION_MISMATCH');
  });

  describe('with encryption', () => {
    async function sealedSession() {
      const encryption = await ClientSessionEncryption.create();
      const serverKeys = await generateKeyPair();
      const salt = generateSalt();
      const server = await createSessionCipher({
        role: 'server',
        keyPair: serverKeys,
        remotePublicKey: await encryption.publicKey(),
        sessionId: 'ses_a',
        salt,
      });
      const init = createEvent('ses_a', 1, 'session_init', {
        limits,
        expiresAt: 0,
        encryption: {
          algorithm: 'ECDH-P256+HKDF-SHA256+AES-256-GCM',
          publicKey: await exportPublicKey(serverKeys.publicKey),
          salt,
        },
      });
      const sealed: EncryptedEvent[] = [];
      for (let seq = 2; seq <= 5; seq++) sealed.push(await server.sealEvent(stdout(seq)));
      return { encryption, init, sealed };
    }

    it('opens sealed events, dropping replayed ones by seq before opening', async () => {
      const { encryption, init, sealed } = await sealedSession();
      const read = await readThrough(new EventIntake({ encryption }), [
        [init, ...sealed.slice(0, 3)],
        // A resume replays seq 3 and 4: they are dropped, not opened (opening them again would fail).
        sealed.slice(1),
      ]);
      expect(read.failure).toBeUndefined();
      expect(read.events.map((event) => event.type)).toEqual([
        'session_init',
        'stdout',
        'stdout',
        'stdout',
        'stdout',
      ]);
      expect(read.events[3]).toMatchObject({ seq: 4, payload: { chunk: '4\n' } });
      expect(read.seqs).toEqual([1, 2, 3, 4, 5]);
    });

    it('rejects a tampered event and a plain event in an encrypted session', async () => {
      const { encryption, init, sealed } = await sealedSession();
      const intake = new EventIntake({ encryption });
      await intake.accept([init]);
      const original = sealed[0] as EncryptedEvent;
      const flipped = original.payload.ciphertext.startsWith('A') ? 'B' : 'A';
      const tampered = {
        ...original,
        payload: { ...original.payload, ciphertext: flipped + original.payload.ciphertext.slice(1) },
      };
      const refused = await intake.accept([tampered, sealed[1] as EncryptedEvent]);
      expect(refused).toMatchObject({ events: [], failure: { code: 'ENCRYPTION_ERROR' } });
      expect((await intake.accept([stdout(2)])).failure?.code).toBe('ENCRYPTION_ERROR');
      // Nothing was taken: the genuine event still opens.
      expect((await intake.accept([original])).events).toHaveLength(1);
    });

    it('opens a batch of sealed events together, stopping at a tampered one in the middle', async () => {
      const { encryption, init, sealed } = await sealedSession();
      const intake = new EventIntake({ encryption });
      const original = sealed[2] as EncryptedEvent;
      const flipped = original.payload.ciphertext.startsWith('A') ? 'B' : 'A';
      const tampered = {
        ...original,
        payload: { ...original.payload, ciphertext: flipped + original.payload.ciphertext.slice(1) },
      };
      // seq 2, 3 (twice: the duplicate is dropped unopened), 4 tampered, 5.
      const lines = [init, sealed[0], sealed[1], sealed[1], tampered, sealed[3]];
      const result = await readThrough(intake, [lines]);
      expect(result.seqs).toEqual([1, 2, 3]);
      expect(result.failure?.code).toBe('ENCRYPTION_ERROR');
      expect(result.failure?.message).toMatch(/Event seq 4 .* failed authentication/);
      // Seq 5 came after the refused event: not taken, so the genuine 4 and 5 are still accepted.
      const resumed = await intake.accept([original, sealed[3] as EncryptedEvent]);
      expect(resumed.failure).toBeUndefined();
      expect(resumed.events.map((event) => event.seq)).toEqual([4, 5]);
    });

    it('keeps the opened events before a line that breaks the protocol', async () => {
      const { encryption, init, sealed } = await sealedSession();
      const intake = new EventIntake({ encryption });
      const result = await readThrough(intake, [[init, sealed[0], sealed[1], { seq: 'four' }, sealed[2]]]);
      expect(result.seqs).toEqual([1, 2, 3]);
      expect(result.failure?.code).toBe('PROTOCOL_ERROR');
    });

    it('reads an encrypted session from its session_init but delivers only from deliverFrom', async () => {
      const { init, sealed, encryption } = await sealedSession();
      const intake = new EventIntake({ encryption, deliverFrom: 4 });
      const result = await intake.accept([init, ...sealed]);
      expect(result.events.map((event) => event.seq)).toEqual([4, 5]);
    });
  });
});
