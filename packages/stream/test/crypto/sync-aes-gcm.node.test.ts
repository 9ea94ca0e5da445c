import { describe, expect, it } from 'vitest';
import { syncAesGcm as browserBuild } from '../../src/crypto/sync-aes-gcm.js';
import { syncAesGcm } from '../../src/crypto/sync-aes-gcm.node.js';

const aes = syncAesGcm as NonNullable<typeof syncAesGcm>;

async function aesKey(usages: KeyUsage[] = ['encrypt', 'decrypt']): Promise<CryptoKey> {
  return crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, usages);
}

const text = new TextEncoder();
const bytesOf = (base64: string) => new Uint8Array(Buffer.from(base64, 'base64'));
const base64Of = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

describe('node:crypto AES-256-GCM (the Node build)', () => {
  it('is absent from the browser build, which uses Web Crypto', () => {
    expect(browserBuild).toBeUndefined();
    expect(syncAesGcm).toBeDefined();
  });

  it('seals what Web Crypto opens, and opens what Web Crypto sealed, byte for byte', async () => {
    const key = await aesKey();
    for (const size of [0, 1, 15, 16, 17, 1024, 65_536]) {
      const plaintext = crypto.getRandomValues(new Uint8Array(size));
      const additionalData = text.encode(`enclave1 seq ${size}`);
      const sealed = aes.seal(key, plaintext, additionalData);
      const iv = bytesOf(sealed.iv);
      expect(iv).toHaveLength(12);
      const opened = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv, additionalData },
        key,
        bytesOf(sealed.ciphertext),
      );
      expect(new Uint8Array(opened)).toEqual(plaintext);
      const web = new Uint8Array(
        await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData }, key, plaintext),
      );
      expect(sealed.ciphertext).toBe(base64Of(web));
      expect(aes.open(key, { iv: sealed.iv, ciphertext: base64Of(web) }, additionalData)).toEqual(
        Buffer.from(plaintext),
      );
    }
  });

  it('seals text as its UTF-8 bytes', async () => {
    const key = await aesKey();
    const sealed = aes.seal(key, '{"chunk":"héllo ✓ 😀"}', undefined);
    const opened = aes.open(key, sealed, undefined) as Uint8Array;
    expect(new TextDecoder().decode(opened)).toBe('{"chunk":"héllo ✓ 😀"}');
  });

  it('never repeats an IV', async () => {
    const key = await aesKey();
    const ivs = new Set(Array.from({ length: 5000 }, () => aes.seal(key, 'x', undefined).iv));
    expect(ivs.size).toBe(5000);
  });

  it('refuses a changed byte, another IV, other additional data, another key and malformed base64', async () => {
    const key = await aesKey();
    const additionalData = text.encode('session 1, seq 7');
    const sealed = aes.seal(key, text.encode('{"type":"stdout"}'), additionalData);
    const flipped = bytesOf(sealed.ciphertext);
    flipped[3] = (flipped[3] as number) ^ 1;
    expect(aes.open(key, { iv: sealed.iv, ciphertext: base64Of(flipped) }, additionalData)).toBeUndefined();
    const otherIv = bytesOf(sealed.iv);
    otherIv[0] = (otherIv[0] as number) ^ 1;
    expect(
      aes.open(key, { iv: base64Of(otherIv), ciphertext: sealed.ciphertext }, additionalData),
    ).toBeUndefined();
    expect(aes.open(key, sealed, text.encode('session 1, seq 8'))).toBeUndefined();
    expect(aes.open(key, sealed, undefined)).toBeUndefined();
    expect(aes.open(await aesKey(), sealed, additionalData)).toBeUndefined();
    expect(aes.open(key, { iv: sealed.iv, ciphertext: 'AAAA' }, additionalData)).toBeUndefined();
    expect(
      aes.open(key, { iv: `${sealed.iv.slice(1)}!`, ciphertext: sealed.ciphertext }, additionalData),
    ).toBeUndefined();
  });

  it('refuses keys that Web Crypto would refuse', async () => {
    const decryptOnly = await aesKey(['decrypt']);
    expect(() => aes.seal(decryptOnly, new Uint8Array(1), undefined)).toThrow(/allowed to encrypt/);
    const hmac = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    expect(() => aes.open(hmac, { iv: 'AAAAAAAAAAAAAAAA', ciphertext: 'A'.repeat(24) }, undefined)).toThrow(
      /AES-GCM key/,
    );
  });
});
