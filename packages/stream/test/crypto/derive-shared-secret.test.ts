import { EnclaveError } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import { deriveDirectionalKeys } from '../../src/crypto/derive-directional-keys.js';
import { deriveSharedSecret } from '../../src/crypto/derive-shared-secret.js';
import { decrypt, encrypt } from '../../src/crypto/encrypt.js';
import { generateSalt } from '../../src/crypto/generate-salt.js';
import { exportPublicKey, generateKeyPair } from '../../src/crypto/key-pair.js';

async function rejectionOf(promise: Promise<unknown>): Promise<EnclaveError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(EnclaveError.isInstance(error), `expected an EnclaveError, got ${String(error)}`).toBe(true);
  return error as EnclaveError;
}

describe('deriveSharedSecret', () => {
  it('runs the documented example: both sides derive a key that opens the other side’s messages', async () => {
    const serverKeys = await generateKeyPair();
    const clientKeys = await generateKeyPair();
    const serverSecret = await deriveSharedSecret(serverKeys.privateKey, clientKeys.publicKey);
    const clientSecret = await deriveSharedSecret(clientKeys.privateKey, serverKeys.publicKey);
    const message = { type: 'tool_call', name: 'secretOp', args: { id: 7 } };
    const encrypted = await encrypt(serverSecret, JSON.stringify(message));
    const decrypted = await decrypt(clientSecret, encrypted);
    expect(JSON.parse(decrypted)).toEqual(message);
    expect(serverSecret.algorithm).toMatchObject({ name: 'AES-GCM', length: 256 });
    expect(serverSecret.extractable).toBe(false);
  });

  it('accepts the peer key as base64', async () => {
    const server = await generateKeyPair();
    const client = await generateKeyPair();
    const clientSecret = await deriveSharedSecret(client.privateKey, await exportPublicKey(server.publicKey));
    const serverSecret = await deriveSharedSecret(server.privateKey, client.publicKey);
    expect(await decrypt(serverSecret, await encrypt(clientSecret, 'hello'))).toBe('hello');
  });

  it('gives unrelated keys for another salt, another info or another peer', async () => {
    const server = await generateKeyPair();
    const client = await generateKeyPair();
    const stranger = await generateKeyPair();
    const salt = generateSalt();
    const reference = await deriveSharedSecret(client.privateKey, server.publicKey, {
      salt,
      info: 'purpose A',
    });
    const encrypted = await encrypt(reference, 'secret');
    expect(
      await decrypt(
        await deriveSharedSecret(server.privateKey, client.publicKey, { salt, info: 'purpose A' }),
        encrypted,
      ),
    ).toBe('secret');

    const others = [
      await deriveSharedSecret(server.privateKey, client.publicKey, {
        salt: generateSalt(),
        info: 'purpose A',
      }),
      await deriveSharedSecret(server.privateKey, client.publicKey, { salt, info: 'purpose B' }),
      await deriveSharedSecret(server.privateKey, client.publicKey),
      await deriveSharedSecret(stranger.privateKey, client.publicKey, { salt, info: 'purpose A' }),
    ];
    for (const other of others) {
      const error = await rejectionOf(decrypt(other, encrypted));
      expect(error.code).toBe('ENCRYPTION_ERROR');
    }
  });

  it('accepts salt and info as bytes, equal to their base64 and UTF-8 forms', async () => {
    const server = await generateKeyPair();
    const client = await generateKeyPair();
    const saltBytes = crypto.getRandomValues(new Uint8Array(32));
    const saltText = btoa(String.fromCharCode(...saltBytes));
    const fromBytes = await deriveSharedSecret(client.privateKey, server.publicKey, {
      salt: saltBytes,
      info: new TextEncoder().encode('info ✓'),
    });
    const fromText = await deriveSharedSecret(server.privateKey, client.publicKey, {
      salt: saltText,
      info: 'info ✓',
    });
    expect(await decrypt(fromText, await encrypt(fromBytes, 'same key'))).toBe('same key');
  });

  it('can derive an extractable key when asked', async () => {
    const server = await generateKeyPair();
    const client = await generateKeyPair();
    const secret = await deriveSharedSecret(client.privateKey, server.publicKey, { extractable: true });
    const raw = await crypto.subtle.exportKey('raw', secret);
    expect(raw.byteLength).toBe(32);
  });

  it('reports a public key in place of the private key, and a private key in place of the peer key', async () => {
    const server = await generateKeyPair();
    const client = await generateKeyPair();
    const swapped = await rejectionOf(deriveSharedSecret(client.publicKey, server.publicKey));
    expect(swapped.code).toBe('ENCRYPTION_ERROR');
    expect(swapped.message).toMatch(/private key of an ECDH P-256 key pair/);
    const privateAsPeer = await rejectionOf(deriveSharedSecret(client.privateKey, server.privateKey));
    expect(privateAsPeer.message).toMatch(/peer's key must be an ECDH P-256 public key/);
    const badSalt = await rejectionOf(
      deriveSharedSecret(client.privateKey, server.publicKey, { salt: 'no!' }),
    );
    expect(badSalt.message).toMatch(/HKDF salt is not valid base64/);
  });
});

describe('deriveDirectionalKeys', () => {
  it('gives both parties the same two keys, and the two directions differ', async () => {
    const server = await generateKeyPair();
    const client = await generateKeyPair();
    const salt = generateSalt();
    const serverKeys = await deriveDirectionalKeys(server.privateKey, client.publicKey, { salt });
    const clientKeys = await deriveDirectionalKeys(
      client.privateKey,
      await exportPublicKey(server.publicKey),
      {
        salt,
      },
    );

    const fromClient = await encrypt(clientKeys.clientToServer, 'up');
    expect(await decrypt(serverKeys.clientToServer, fromClient)).toBe('up');
    const fromServer = await encrypt(serverKeys.serverToClient, 'down');
    expect(await decrypt(clientKeys.serverToClient, fromServer)).toBe('down');

    // A message of one direction is refused under the other direction's key.
    expect((await rejectionOf(decrypt(serverKeys.serverToClient, fromClient))).code).toBe('ENCRYPTION_ERROR');
    expect((await rejectionOf(decrypt(clientKeys.clientToServer, fromServer))).code).toBe('ENCRYPTION_ERROR');
  });
});

describe('generateSalt', () => {
  it('returns fresh base64 randomness of the requested size', () => {
    const first = generateSalt();
    expect(atob(first)).toHaveLength(32);
    expect(generateSalt()).not.toBe(first);
    expect(atob(generateSalt(16))).toHaveLength(16);
    expect(() => generateSalt(8)).toThrow(/16 to 64 bytes/);
  });
});
