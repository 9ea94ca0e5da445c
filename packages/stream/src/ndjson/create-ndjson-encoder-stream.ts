import { StreamEncoder, type StreamEncoderOptions } from './stream-encoder.js';

/** Options of {@link createNDJSONEncoderStream}. */
export interface NDJSONEncoderStreamOptions extends StreamEncoderOptions {
  /**
   * Queuing strategy of the writable (message) side.
   * @default { highWaterMark: 1 } (one message queued)
   */
  writableStrategy?: QueuingStrategy<unknown>;
  /**
   * Queuing strategy of the readable (byte) side.
   * @default { highWaterMark: 0 } (encodes only when the reader wants more)
   */
  readableStrategy?: QueuingStrategy<Uint8Array>;
}

/**
 * A Web `TransformStream` from messages to NDJSON bytes: each message written comes out as one
 * `Uint8Array` holding its JSON line and `\n`. It honours backpressure: a writer that awaits
 * `writer.ready` waits while the reading side is full. A message JSON cannot represent errors the
 * stream with an `EnclaveError` (`BAD_REQUEST`), one longer than `maxLineSize` with `LINE_TOO_LONG`.
 *
 * @example
 * const stream = createNDJSONEncoderStream();
 * const writer = stream.writable.getWriter();
 * await writer.ready;
 * await writer.write({ type: 'stdout', payload: { chunk: 'hi\n' } });
 */
export function createNDJSONEncoderStream<Message = unknown>(
  options: NDJSONEncoderStreamOptions = {},
): TransformStream<Message, Uint8Array> {
  const encoder = new StreamEncoder<Message>(options);
  return new TransformStream<Message, Uint8Array>(
    {
      transform(message, controller) {
        controller.enqueue(encoder.encodeBytes(message));
      },
    },
    options.writableStrategy,
    options.readableStrategy,
  );
}
