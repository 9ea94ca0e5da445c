import { EnclaveError } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64 } from '../../src/crypto/base64.js';
import { deriveSharedSecret } from '../../src/crypto/derive-shared-secret.js';
import { decrypt, encrypt } from '../../src/crypto/encrypt.js';
import { exportPublicKey, generateKeyPair, importPublicKey } from '../../src/crypto/key-pair.js';

async function rejectionOf(promise: Promise<unknown>): Promise<EnclaveError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(EnclaveError.isInstance(error), `expected an EnclaveError, got ${String(error)}`).toBe(true);
  return error as EnclaveError;
}

describe('generateKeyPair', () => {
  it('creates ECDH P-256 keys whose private half cannot be exported by default', async () => {
    const { publicKey, privateKey } = await generateKeyPair();
    expect(publicKey.algorithm).toMatchObject({ name: 'ECDH', namedCurve: 'P-256' });
    expect(privateKey.type).toBe('private');
    expect(privateKey.extractable).toBe(false);
    const extractable = await generateKeyPair({ extractable: true });
    expect(extractable.privateKey.extractable).toBe(true);
  });

  it('creates a different key pair each time', async () => {
    const first = await exportPublicKey((await generateKeyPair()).publicKey);
    const second = await exportPublicKey((await generateKeyPair()).publicKey);
    expect(first).not.toBe(second);
  });
});

describe('exportPublicKey and importPublicKey', () => {
  it('export the raw uncompressed point as base64 and import it back to a working key', async () => {
    const server = await generateKeyPair();
    const client = await generateKeyPair();
    const exported = await exportPublicKey(server.publicKey);
    expect(exported).toHaveLength(88);
    const raw = decodeBase64(exported);
    expect(raw).toHaveLength(65);
    expect(raw[0]).toBe(4);

    const imported = await importPublicKey(exported);
    expect(await exportPublicKey(imported)).toBe(exported);
    const clientSecret = await deriveSharedSecret(client.privateKey, imported);
    const serverSecret = await deriveSharedSecret(server.privateKey, client.publicKey);
    expect(await decrypt(serverSecret, await encrypt(clientSecret, 'through an imported key'))).toBe(
      'through an imported key',
    );
  });

  it('refuses to export a private key', async () => {
    const { privateKey } = await generateKeyPair({ extractable: true });
    const error = await rejectionOf(exportPublicKey(privateKey));
    expect(error.code).toBe('ENCRYPTION_ERROR');
    expect(error.message).toMatch(/public key of an ECDH P-256 key pair/);
  });

  it('refuses text that is not base64, a point of the wrong size, or a point off the curve', async () => {
    const valid = decodeBase64(await exportPublicKey((await generateKeyPair()).publicKey));
    const offCurve = valid.slice();
    offCurve[64] = offCurve[64]! ^ 1;
    const compressedPrefix = valid.slice();
    compressedPrefix[0] = 2;

    const cases: [string, RegExp][] = [
      ['not base64!', /not valid base64/],
      [encodeBase64(valid.subarray(0, 33)), /expected 65 bytes starting with 0x04, got 33 bytes/],
      [encodeBase64(compressedPrefix), /not an uncompressed P-256 point/],
      [encodeBase64(offCurve), /not a valid point of the P-256 curve/],
    ];
    for (const [text, message] of cases) {
      const error = await rejectionOf(importPublicKey(text));
      expect(error.code).toBe('ENCRYPTION_ERROR');
      expect(error.message).toMatch(message);
    }
  });
});
