import type { Direction } from './direction.js';
import { encodeUtf8 } from './utf8.js';

/**
 * What an additional-data block authenticates. Each kind of sealed thing has its own code, so a
 * channel frame can never be accepted as a stream event or a client message, even under one key.
 */
export type SealedKind = 'channel-frame' | 'stream-event' | 'client-message';

/** Tag opening every additional-data block; it changes whenever the layout below changes. */
const FORMAT_TAG = encodeUtf8('enclave1');

const KIND_CODES: Readonly<Record<SealedKind, number>> = {
  'channel-frame': 1,
  'stream-event': 2,
  'client-message': 3,
};
const DIRECTION_CODES: Readonly<Record<Direction, number>> = { 'client-to-server': 1, 'server-to-client': 2 };

/** Offset of the 8-byte sequence number in the block. */
const SEQUENCE_OFFSET = 10;
/** Bytes before the session id. */
const HEADER_LENGTH = 18;

/**
 * Builds the AES-GCM additional authenticated data of one sealed message:
 *
 * | offset | bytes | field |
 * |---|---|---|
 * | 0 | 8 | ASCII `enclave1` (format tag) |
 * | 8 | 1 | kind: 1 channel frame, 2 stream event, 3 client message |
 * | 9 | 1 | direction: 1 client→server, 2 server→client |
 * | 10 | 8 | sequence number, unsigned big-endian |
 * | 18 | rest | session id, UTF-8 |
 *
 * Every field but the last has a fixed size, so two different bindings never produce the same
 * bytes. The fixed part is built once per binding; each message only writes its sequence number.
 */
export class AdditionalData {
  private readonly template: Uint8Array<ArrayBuffer>;
  private scratch: Uint8Array<ArrayBuffer> | undefined;

  constructor(kind: SealedKind, direction: Direction, sessionId: string) {
    const session = encodeUtf8(sessionId);
    this.template = new Uint8Array(HEADER_LENGTH + session.length);
    this.template.set(FORMAT_TAG, 0);
    this.template[8] = KIND_CODES[kind];
    this.template[9] = DIRECTION_CODES[direction];
    this.template.set(session, HEADER_LENGTH);
  }

  /** The block for one sequence number (a positive safe integer). */
  for(sequence: number): Uint8Array<ArrayBuffer> {
    return write(this.template.slice(), sequence);
  }

  /**
   * The block for one sequence number, in a buffer this object reuses: valid until its next call.
   * For synchronous AES-GCM, which reads it during the call only.
   */
  current(sequence: number): Uint8Array<ArrayBuffer> {
    this.scratch ??= this.template.slice();
    return write(this.scratch, sequence);
  }
}

/** Writes the sequence number into a block and returns it. */
function write(block: Uint8Array<ArrayBuffer>, sequence: number): Uint8Array<ArrayBuffer> {
  // Big-endian, one byte at a time: bit operators cover 32 bits, so the high word comes by division.
  const high = Math.floor(sequence / 0x1_0000_0000);
  const low = sequence >>> 0;
  for (let shift = 24, offset = SEQUENCE_OFFSET; shift >= 0; shift -= 8, offset++) {
    block[offset] = (high >>> shift) & 255;
    block[offset + 4] = (low >>> shift) & 255;
  }
  return block;
}

/** Whether `value` can be a sequence number: an integer from 1 to `Number.MAX_SAFE_INTEGER`. */
export function isSequenceNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}
