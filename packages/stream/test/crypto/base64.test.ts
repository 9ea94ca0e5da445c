import { EnclaveError } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64 } from '../../src/crypto/base64.js';

const bytesOf = (text: string) => new TextEncoder().encode(text);

describe('base64', () => {
  it('matches the RFC 4648 test vectors both ways', () => {
    const vectors: [string, string][] = [
      ['', ''],
      ['f', 'Zg=='],
      ['fo', 'Zm8='],
      ['foo', 'Zm9v'],
      ['foob', 'Zm9vYg=='],
      ['fooba', 'Zm9vYmE='],
      ['foobar', 'Zm9vYmFy'],
    ];
    for (const [plain, encoded] of vectors) {
      expect(encodeBase64(bytesOf(plain))).toBe(encoded);
      expect(decodeBase64(encoded)).toEqual(bytesOf(plain));
    }
  });

  it('round-trips every byte value and agrees with btoa', () => {
    const every = Uint8Array.from({ length: 256 }, (_, index) => index);
    for (const length of [1, 2, 3, 64, 255, 256]) {
      const bytes = every.subarray(0, length);
      const encoded = encodeBase64(bytes);
      expect(encoded).toBe(btoa(String.fromCharCode(...bytes)));
      expect(decodeBase64(encoded)).toEqual(bytes);
    }
  });

  it('round-trips large inputs', () => {
    const bytes = crypto.getRandomValues(new Uint8Array(65_536)).map((byte, index) => byte ^ index);
    const large = new Uint8Array(200_000);
    for (let offset = 0; offset < large.length; offset += bytes.length) {
      large.set(bytes.subarray(0, Math.min(bytes.length, large.length - offset)), offset);
    }
    expect(decodeBase64(encodeBase64(large))).toEqual(large);
  });

  it('refuses text that is not canonical base64, naming the field', () => {
    const cases: [string, RegExp][] = [
      ['abc', /length 3 is not a multiple of 4/],
      ['ab!d', /unexpected character at position 2/],
      ['ab=d', /unexpected character at position 2/],
      ['Zm9v\n', /length 5/],
      ['Zh==', /non-zero bits before the padding/],
      ['Zm9=', /non-zero bits before the padding/],
      ['é===', /unexpected character at position 0/],
    ];
    for (const [text, message] of cases) {
      let caught: unknown;
      try {
        decodeBase64(text, 'The IV');
      } catch (error) {
        caught = error;
      }
      expect(EnclaveError.isInstance(caught)).toBe(true);
      expect(caught).toMatchObject({ code: 'ENCRYPTION_ERROR' });
      expect((caught as Error).message).toMatch(/^The IV is not valid base64/);
      expect((caught as Error).message).toMatch(message);
    }
  });
});
