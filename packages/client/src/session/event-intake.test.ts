import { createSessionCipher, exportPublicKey, generateKeyPair, generateSalt } from '@enclave-vm/stream';
import { createEvent, type EncryptedEvent, type StreamEvent } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import { SessionEncryption } from '../encryption/session-encryption.js';
import { EventIntake } from './event-intake.js';

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

describe('EventIntake', () => {
  it('takes each seq once, in order, and stops at a gap', async () => {
    const intake = new EventIntake();
    const first = await intake.accept([stdout(1), stdout(2), stdout(2), stdout(1), stdout(3)], false);
    expect(first.events.map((event) => event.seq)).toEqual([1, 2, 3]);
    expect(first.gap).toBe(false);

    const second = await intake.accept([stdout(3), stdout(4), stdout(6), stdout(7)], false);
    expect(second.events.map((event) => event.seq)).toEqual([4]);
    expect(second.gap).toBe(true);
    expect(intake.nextSeq).toBe(5);

    // On a stream the broker filters, skipped seqs are expected.
    const filtered = await intake.accept([stdout(6), stdout(9)], true);
    expect(filtered.events.map((event) => event.seq)).toEqual([6, 9]);
  });

  it('refuses events of another session and lines that are not events', async () => {
    const intake = new EventIntake();
    intake.expectSession('ses_a');
    expect(await intake.accept([createEvent('ses_b', 1, 'heartbeat', {})], false)).toMatchObject({
      events: [],
      failure: { code: 'PROTOCOL_ERROR' },
    });
    // The good events before a refused line are kept; nothing after it is taken.
    const partial = await intake.accept([stdout(1), { seq: 'one' }, stdout(2)], false);
    expect(partial.events.map((event) => event.seq)).toEqual([1]);
    expect(partial.failure?.code).toBe('PROTOCOL_ERROR');
    const newer = await intake.accept([{ ...stdout(2), protocolVersion: '2.0' }], false);
    expect(newer.failure?.code).toBe('PROTOCOL_VERSION_MISMATCH');
  });

  describe('with encryption', () => {
    async function sealedSession() {
      const encryption = await SessionEncryption.create();
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
      const intake = new EventIntake({ encryption });
      const first = await intake.accept([init, ...sealed.slice(0, 3)], false);
      expect(first.events.map((event) => event.type)).toEqual(['session_init', 'stdout', 'stdout', 'stdout']);
      expect(first.events.at(-1)).toMatchObject({ seq: 4, payload: { chunk: '4\n' } });
      // A resume replays seq 3 and 4: they are dropped, not opened (opening them again would fail).
      const second = await intake.accept(sealed.slice(1), false);
      expect(second.events.map((event) => event.seq)).toEqual([5]);
    });

    it('rejects a tampered event and a plain event in an encrypted session', async () => {
      const { encryption, init, sealed } = await sealedSession();
      const intake = new EventIntake({ encryption });
      await intake.accept([init], false);
      const original = sealed[0] as EncryptedEvent;
      const flipped = original.payload.ciphertext.startsWith('A') ? 'B' : 'A';
      const tampered = {
        ...original,
        payload: { ...original.payload, ciphertext: flipped + original.payload.ciphertext.slice(1) },
      };
      const refused = await intake.accept([tampered, sealed[1] as EncryptedEvent], false);
      expect(refused).toMatchObject({ events: [], failure: { code: 'ENCRYPTION_ERROR' } });
      expect((await intake.accept([stdout(2)], false)).failure?.code).toBe('ENCRYPTION_ERROR');
      // Nothing was taken: the genuine event still opens.
      expect((await intake.accept([original], false)).events).toHaveLength(1);
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
      const result = await intake.accept(lines, false);
      expect(result.events.map((event) => event.seq)).toEqual([1, 2, 3]);
      expect(result.failure?.code).toBe('ENCRYPTION_ERROR');
      expect(result.failure?.message).toMatch(/Event seq 4 .* failed authentication/);
      // Seq 5 came after the refused event: not taken, so the genuine 4 and 5 are still accepted.
      expect(intake.lastSeq).toBe(3);
      const resumed = await intake.accept([sealed[1], original, sealed[3]], false);
      expect(resumed.failure).toBeUndefined();
      expect(resumed.events.map((event) => event.seq)).toEqual([4, 5]);
    });

    it('keeps the opened events before a line that breaks the protocol', async () => {
      const { encryption, init, sealed } = await sealedSession();
      const intake = new EventIntake({ encryption });
      const result = await intake.accept([init, sealed[0], sealed[1], { seq: 'four' }, sealed[2]], false);
      expect(result.events.map((event) => event.seq)).toEqual([1, 2, 3]);
      expect(result.failure?.code).toBe('PROTOCOL_ERROR');
      expect(intake.lastSeq).toBe(3);
      const gap = await intake.accept([sealed[3]], false);
      expect(gap).toMatchObject({ events: [], gap: true });
    });

    it('reads an encrypted session from its session_init but delivers only from deliverFrom', async () => {
      const { init, sealed, encryption } = await sealedSession();
      const intake = new EventIntake({ encryption, deliverFrom: 4 });
      const result = await intake.accept([init, ...sealed], false);
      expect(result.events.map((event) => event.seq)).toEqual([4, 5]);
    });
  });
});
