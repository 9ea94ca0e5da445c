import type { EnclaveError } from '@enclave-vm/types';
import { unparsableLineError } from './line-errors.js';

/** Options of {@link parseNDJSON}. */
export interface ParseNDJSONOptions {
  /**
   * Called with the `DECODE_ERROR` of each malformed line, which is then skipped. Without it, the
   * first malformed line throws.
   */
  onError?: (error: EnclaveError) => void;
}

/**
 * Parses a whole NDJSON text into its messages, in order. Lines may end in `\n` or `\r\n`, the last
 * line needs no line break, and blank lines are ignored.
 *
 * Throws an `EnclaveError` (`DECODE_ERROR`, with the 1-based line number in its message and in
 * `details.line`) on the first line that is not JSON, unless `options.onError` is given.
 *
 * @example
 * const messages = parseNDJSON('{"type":"start"}\n{"type":"end"}\n');
 * // [{ type: 'start' }, { type: 'end' }]
 */
export function parseNDJSON<Message = unknown>(text: string, options: ParseNDJSONOptions = {}): Message[] {
  const messages: Message[] = [];
  let lineNumber = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    lineNumber++;
    if (end > start) {
      const line = text.slice(start, end);
      try {
        messages.push(JSON.parse(line));
      } catch (cause) {
        const error = unparsableLineError(line, lineNumber, cause);
        if (error !== undefined) {
          if (options.onError === undefined) throw error;
          options.onError(error);
        }
      }
    }
    start = end + 1;
  }
  return messages;
}
