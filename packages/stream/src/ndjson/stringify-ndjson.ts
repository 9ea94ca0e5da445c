import { StreamEncoder } from './stream-encoder.js';

const encoder = new StreamEncoder();

/**
 * Turns messages into NDJSON text: one JSON line per message, each ending in `\n` (an empty string
 * for no messages). Throws an `EnclaveError` (`BAD_REQUEST`) for a message JSON cannot represent.
 *
 * @example
 * stringifyNDJSON([{ type: 'start', sessionId: '123' }, { type: 'end' }]);
 * // '{"type":"start","sessionId":"123"}\n{"type":"end"}\n'
 */
export function stringifyNDJSON(messages: Iterable<unknown>): string {
  return encoder.encodeMany(messages);
}
