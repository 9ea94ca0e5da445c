import { EnclaveError } from '@enclave-vm/types';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64 } from '../../src/crypto/base64.js';
import { deriveSharedSecret } from '../../src/crypto/derive-shared-secret.js';
import { decrypt, decryptBytes, type EncryptedPayload, encrypt } from '../../src/crypto/encrypt.js';
import { generateKeyPair } from '../../src/crypto/key-pair.js';

async function rejectionOf(promise: Promise<unknown>): Promise<EnclaveError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).not.toBeInstanceOf(DOMException);
  expect(EnclaveError.isInstance(error), `expected an EnclaveError, got ${String(error)}`).toBe(true);
  return error as EnclaveError;
}

/** The base64 text with one bit of byte `index` flipped. */
function flipByte(base64: string, index: number): string {
  const bytes = decodeBase64(base64);
  bytes[index] = bytes[index]! ^ 1;
  return encodeBase64(bytes);
}

let senderKey: CryptoKey;
let receiverKey: CryptoKey;
let strangerKey: CryptoKey;

beforeAll(async () => {
  const server = await generateKeyPair();
  const client = await generateKeyPair();
  const stranger = await generateKeyPair();
  senderKey = await deriveSharedSecret(client.privateKey, server.publicKey);
  receiverKey = await deriveSharedSecret(server.privateKey, client.publicKey);
  strangerKey = await deriveSharedSecret(stranger.privateKey, server.publicKey);
});

describe('encrypt and decrypt', () => {
  it('round-trip text, including non-ASCII and the empty string', async () => {
    for (const text of ['', 'hello', 'héllo wörld ✓ 🔐 中文', 'x'.repeat(100_000)]) {
      expect(await decrypt(receiverKey, await encrypt(senderKey, text))).toBe(text);
    }
  });

  it('round-trip bytes with decryptBytes', async () => {
    const bytes = crypto.getRandomValues(new Uint8Array(1000));
    const encrypted = await encrypt(senderKey, bytes);
    expect(await decryptBytes(receiverKey, encrypted)).toEqual(bytes);
  });

  it('use a fresh 12-byte IV for every message, so equal plaintexts look different', async () => {
    const first = await encrypt(senderKey, 'same');
    const second = await encrypt(senderKey, 'same');
    expect(decodeBase64(first.iv)).toHaveLength(12);
    expect(first.iv).not.toBe(second.iv);
    expect(first.ciphertext).not.toBe(second.ciphertext);
    // 4 bytes of plaintext + 16 bytes of tag.
    expect(decodeBase64(first.ciphertext)).toHaveLength(20);
  });

  it('check additional data: the same data opens, other or missing data is refused', async () => {
    const encrypted = await encrypt(senderKey, 'bound', 'session ses_1 seq 4');
    expect(await decrypt(receiverKey, encrypted, 'session ses_1 seq 4')).toBe('bound');
    expect(await decrypt(receiverKey, encrypted, new TextEncoder().encode('session ses_1 seq 4'))).toBe(
      'bound',
    );
    for (const other of ['session ses_1 seq 5', 'session ses_2 seq 4', undefined]) {
      const error = await rejectionOf(decrypt(receiverKey, encrypted, other));
      expect(error.code).toBe('ENCRYPTION_ERROR');
      expect(error.message).toMatch(/changed in transit/);
    }
  });

  it('refuse a message when any byte of the ciphertext, the tag or the IV changed', async () => {
    const encrypted = await encrypt(senderKey, 'do not touch');
    const length = decodeBase64(encrypted.ciphertext).length;
    const tampered: EncryptedPayload[] = [
      { ...encrypted, ciphertext: flipByte(encrypted.ciphertext, 0) },
      { ...encrypted, ciphertext: flipByte(encrypted.ciphertext, length - 1) },
      { ...encrypted, iv: flipByte(encrypted.iv, 0) },
      { ...encrypted, iv: flipByte(encrypted.iv, 11) },
    ];
    for (const payload of tampered) {
      const error = await rejectionOf(decrypt(receiverKey, payload));
      expect(error.code).toBe('ENCRYPTION_ERROR');
      expect(error.message).toMatch(/^Decryption failed/);
      expect(error.cause).toBeInstanceOf(Error);
    }
  });

  it('refuse a message under another key', async () => {
    const error = await rejectionOf(decrypt(strangerKey, await encrypt(senderKey, 'private')));
    expect(error.code).toBe('ENCRYPTION_ERROR');
  });

  it('report malformed payloads and a key of the wrong kind clearly', async () => {
    const encrypted = await encrypt(senderKey, 'text');
    const cases: [unknown, RegExp][] = [
      [null, /must be an object/],
      [{ iv: encrypted.iv }, /needs base64 strings/],
      [{ ...encrypted, iv: encodeBase64(new Uint8Array(16)) }, /IV must be 12 bytes, got 16/],
      [
        { ...encrypted, ciphertext: encodeBase64(new Uint8Array(8)) },
        /shorter than its 16-byte authentication tag/,
      ],
      [{ ...encrypted, ciphertext: '%%%%' }, /The ciphertext is not valid base64/],
    ];
    for (const [payload, message] of cases) {
      const error = await rejectionOf(decrypt(receiverKey, payload as EncryptedPayload));
      expect(error.message).toMatch(message);
    }
    const { privateKey } = await generateKeyPair();
    expect((await rejectionOf(encrypt(privateKey, 'x'))).message).toMatch(/AES-GCM key allowed to encrypt/);
    expect((await rejectionOf(decrypt(privateKey, encrypted))).message).toMatch(
      /AES-GCM key allowed to decrypt/,
    );
  });

  it('refuse to return binary plaintext as text, which decryptBytes returns', async () => {
    const notUtf8 = new Uint8Array([0xff, 0xfe, 0x00, 0xc3]);
    const encrypted = await encrypt(senderKey, notUtf8);
    expect((await rejectionOf(decrypt(receiverKey, encrypted))).message).toMatch(/not valid UTF-8/);
    expect(await decryptBytes(receiverKey, encrypted)).toEqual(notUtf8);
  });
});
