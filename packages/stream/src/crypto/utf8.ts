// One encoder and one decoder for the whole module: constructing them per message is measurable.
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 bytes of a string. */
export function encodeUtf8(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text);
}

/** The string of UTF-8 bytes; throws a `TypeError` on invalid UTF-8 (never replaces silently). */
export function decodeUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}
