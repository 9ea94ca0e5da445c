import { encryptionError } from './encryption-error.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const PADDING = 61; // '='

const encodeTable = new Uint8Array(64);
// Every byte value maps to its sextet, or -1 outside the alphabet ('=' included).
const decodeTable = new Int16Array(256).fill(-1);
for (let index = 0; index < ALPHABET.length; index++) {
  encodeTable[index] = ALPHABET.charCodeAt(index);
  decodeTable[ALPHABET.charCodeAt(index)] = index;
}

// The two output characters of every 12-bit group, packed in the host's byte order so that one
// 16-bit store writes both: half the stores of a character-by-character loop.
const isLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const pairTable = new Uint16Array(4096);
for (let group = 0; group < 4096; group++) {
  const high = encodeTable[group >>> 6]!;
  const low = encodeTable[group & 63]!;
  pairTable[group] = isLittleEndian ? (low << 8) | high : (high << 8) | low;
}

// Base64 output is ASCII, which the UTF-8 decoder turns into a string in one native call: much
// cheaper than concatenating characters one by one.
const asciiDecoder = new TextDecoder();

/**
 * Standard base64 (RFC 4648 §4, with padding) of bytes. Works in browsers and Node without
 * `Buffer`.
 */
export function encodeBase64(bytes: Uint8Array): string {
  const length = bytes.length;
  const output = new Uint8Array(Math.ceil(length / 3) * 4);
  const pairs = new Uint16Array(output.buffer);
  const whole = length - (length % 3);
  let pair = 0;
  let index = 0;
  for (; index < whole; index += 3) {
    const triple = (bytes[index]! << 16) | (bytes[index + 1]! << 8) | bytes[index + 2]!;
    pairs[pair] = pairTable[triple >>> 12]!;
    pairs[pair + 1] = pairTable[triple & 4095]!;
    pair += 2;
  }
  const remainder = length - whole;
  if (remainder > 0) {
    const out = pair * 2;
    const triple = (bytes[index]! << 16) | (remainder === 2 ? bytes[index + 1]! << 8 : 0);
    output[out] = encodeTable[triple >>> 18]!;
    output[out + 1] = encodeTable[(triple >>> 12) & 63]!;
    output[out + 2] = remainder === 2 ? encodeTable[(triple >>> 6) & 63]! : PADDING;
    output[out + 3] = PADDING;
  }
  return asciiDecoder.decode(output);
}

// Decoding reads the text as bytes (one native call) instead of character by character.
const asciiEncoder = new TextEncoder();
const SCRATCH_LENGTH = 64 * 1024;
const scratch = new Uint8Array(SCRATCH_LENGTH);

function invalid(what: string, reason: string): never {
  throw encryptionError(`${what} is not valid base64: ${reason}`);
}

/** Position of the first character outside the alphabet (padding only at the end), for the error message. */
function firstInvalidCharacter(text: string, padding: number): number {
  for (let index = 0; index < text.length - padding; index++) {
    const code = text.charCodeAt(index);
    if (code > 127 || decodeTable[code]! < 0) return index;
  }
  return text.length - padding;
}

/**
 * Bytes of a standard base64 string (with padding, no whitespace). Throws an `ENCRYPTION_ERROR`
 * naming `what` when the text is not base64, so a corrupted field is reported as such.
 *
 * @param what Name of the decoded field in error messages. @default 'value'
 */
export function decodeBase64(text: string, what = 'value'): Uint8Array<ArrayBuffer> {
  const length = text.length;
  if (length % 4 !== 0) invalid(what, `its length ${length} is not a multiple of 4`);
  const bytes = length <= SCRATCH_LENGTH ? scratch : new Uint8Array(length);
  const { read, written } = asciiEncoder.encodeInto(text, bytes);
  let padding = 0;
  if (length > 0 && text.charCodeAt(length - 1) === PADDING) {
    padding = text.charCodeAt(length - 2) === PADDING ? 2 : 1;
  }
  // Any character beyond ASCII makes the UTF-8 longer than the text.
  if (read !== length || written !== length) {
    invalid(what, `unexpected character at position ${firstInvalidCharacter(text, padding)}`);
  }
  const output = new Uint8Array((length / 4) * 3 - padding);
  const whole = padding === 0 ? length : length - 4;
  let out = 0;
  let index = 0;
  for (; index < whole; index += 4) {
    const first = decodeTable[bytes[index]!]!;
    const second = decodeTable[bytes[index + 1]!]!;
    const third = decodeTable[bytes[index + 2]!]!;
    const fourth = decodeTable[bytes[index + 3]!]!;
    if ((first | second | third | fourth) < 0) {
      invalid(what, `unexpected character at position ${firstInvalidCharacter(text, padding)}`);
    }
    const quad = (first << 18) | (second << 12) | (third << 6) | fourth;
    output[out] = quad >>> 16;
    output[out + 1] = (quad >>> 8) & 255;
    output[out + 2] = quad & 255;
    out += 3;
  }
  if (padding > 0) {
    const first = decodeTable[bytes[index]!]!;
    const second = decodeTable[bytes[index + 1]!]!;
    const third = padding === 1 ? decodeTable[bytes[index + 2]!]! : 0;
    if ((first | second | third) < 0) {
      invalid(what, `unexpected character at position ${firstInvalidCharacter(text, padding)}`);
    }
    output[out] = (first << 2) | (second >>> 4);
    if (padding === 1) output[out + 1] = ((second & 15) << 4) | (third >>> 2);
    // Bits below the last byte must be zero: otherwise two different strings would decode to the
    // same bytes, and a changed character could go unnoticed.
    const unusedBits = padding === 1 ? third & 3 : second & 15;
    if (unusedBits !== 0) invalid(what, 'non-zero bits before the padding');
  }
  return output;
}
