import { EnclaveError } from '@enclave-vm/types';
import { resolveMaxLineSize } from './max-line-size.js';

/** Options of {@link StreamEncoder}. */
export interface StreamEncoderOptions {
  /**
   * The longest line the encoder produces, in UTF-16 code units without the `\n`. Encoding a longer
   * message throws `LINE_TOO_LONG`, so an encoder never writes a line that a decoder with the same
   * limit would reject.
   * @default DEFAULT_MAX_LINE_SIZE (16 MiB)
   */
  maxLineSize?: number;
}

const textEncoder = new TextEncoder();

/**
 * Turns messages into NDJSON: one `JSON.stringify` line per message, each ending in `\n`.
 * Stateless, so one encoder can serve any number of streams.
 *
 * A message that JSON cannot represent (`undefined`, a function, a symbol, a `BigInt`, a cycle)
 * throws an `EnclaveError` with code `BAD_REQUEST` instead of producing a broken line.
 *
 * @example
 * const encoder = new StreamEncoder();
 * encoder.encode({ type: 'tool_call', name: 'getData', args: {} });
 * // '{"type":"tool_call","name":"getData","args":{}}\n'
 */
export class StreamEncoder<Message = unknown> {
  /** The longest line this encoder produces. */
  readonly maxLineSize: number;

  constructor(options: StreamEncoderOptions = {}) {
    this.maxLineSize = resolveMaxLineSize(options.maxLineSize);
  }

  /** One message as one NDJSON line, `\n` included. */
  encode(message: Message): string {
    return `${this.stringify(message)}\n`;
  }

  /** One message as the UTF-8 bytes of one NDJSON line, `\n` included. */
  encodeBytes(message: Message): Uint8Array {
    return textEncoder.encode(`${this.stringify(message)}\n`);
  }

  /** Several messages as NDJSON text, one line each (an empty string for no messages). */
  encodeMany(messages: Iterable<Message>): string {
    let text = '';
    for (const message of messages) text += `${this.stringify(message)}\n`;
    return text;
  }

  /** Several messages as the UTF-8 bytes of NDJSON text, one line each. */
  encodeManyBytes(messages: Iterable<Message>): Uint8Array {
    return textEncoder.encode(this.encodeMany(messages));
  }

  private stringify(message: Message): string {
    let json: string | undefined;
    try {
      json = JSON.stringify(message);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new EnclaveError('BAD_REQUEST', `Cannot encode message as NDJSON: ${reason}`, { cause: error });
    }
    // JSON.stringify returns undefined (not a string) for values JSON has no form for.
    if (typeof json !== 'string') {
      throw new EnclaveError(
        'BAD_REQUEST',
        `Cannot encode message as NDJSON: a value of type ${typeof message} has no JSON representation`,
        { cause: undefined },
      );
    }
    if (json.length > this.maxLineSize) {
      throw new EnclaveError(
        'LINE_TOO_LONG',
        `Cannot encode message as NDJSON: its line of ${json.length} characters exceeds the maximum of ${this.maxLineSize}`,
        { cause: undefined, details: { length: json.length, maxLineSize: this.maxLineSize } },
      );
    }
    return json;
  }
}
