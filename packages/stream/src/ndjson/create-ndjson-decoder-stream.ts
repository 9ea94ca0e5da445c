import type { EnclaveError } from '@enclave-vm/types';
import { type NDJSONChunk, StreamDecoder, type StreamDecoderOptions } from './stream-decoder.js';

/** Options of {@link createNDJSONDecoderStream} and {@link readNDJSON}. */
export interface NDJSONDecoderStreamOptions extends StreamDecoderOptions {
  /**
   * Called with the error of each line that is skipped (`DECODE_ERROR` or `LINE_TOO_LONG`); decoding
   * then carries on. Without it, the first such line errors the stream with that error, after the
   * messages before it have been delivered.
   */
  onError?: (error: EnclaveError) => void;
  /**
   * Queuing strategy of the writable (chunk) side.
   * @default { highWaterMark: 1 } (one chunk queued)
   */
  writableStrategy?: QueuingStrategy<NDJSONChunk>;
  /**
   * Queuing strategy of the readable (message) side. All messages of one chunk are queued at once,
   * so the readable side can briefly hold one chunk's worth of messages beyond this mark.
   * @default { highWaterMark: 0 } (decodes only when the reader wants more)
   */
  readableStrategy?: QueuingStrategy<unknown>;
}

/**
 * A Web `TransformStream` from NDJSON chunks (UTF-8 bytes or text, split anywhere) to messages.
 * Pipe a `fetch` body through it, or use {@link readNDJSON} to iterate one. It honours
 * backpressure: it decodes the next chunk only once the reading side has room.
 *
 * @example
 * const response = await fetch(url, { method: 'POST', body });
 * const reader = response.body!.pipeThrough(createNDJSONDecoderStream()).getReader();
 */
export function createNDJSONDecoderStream<Message = unknown>(
  options: NDJSONDecoderStreamOptions = {},
): TransformStream<NDJSONChunk, Message> {
  const decoder = new StreamDecoder<Message>(options);
  const onError = options.onError;
  let failure: EnclaveError | undefined;
  let controller: TransformStreamDefaultController<Message> | undefined;
  decoder.on('message', (message) => {
    // Lines after a fatal error in the same chunk are dropped: the stream is about to error.
    if (failure === undefined) controller?.enqueue(message);
  });
  decoder.on('error', (error) => {
    if (onError !== undefined) onError(error);
    else failure ??= error;
  });
  const throwFailure = (): void => {
    if (failure !== undefined) throw failure;
  };
  return new TransformStream<NDJSONChunk, Message>(
    {
      start(streamController) {
        controller = streamController;
      },
      transform(chunk) {
        decoder.write(chunk);
        throwFailure();
      },
      flush() {
        decoder.end();
        throwFailure();
      },
    },
    options.writableStrategy,
    options.readableStrategy,
  );
}
