import { type EnclaveError, toEnclaveError } from '@enclave-vm/types';
import type { NDJSONDecoderStreamOptions } from './create-ndjson-decoder-stream.js';
import { type NDJSONChunk, StreamDecoder } from './stream-decoder.js';

/** Options of {@link readNDJSON}. */
export type ReadNDJSONOptions = Pick<NDJSONDecoderStreamOptions, 'maxLineSize' | 'onError'>;

/** Where {@link readNDJSON} reads from: a Web `ReadableStream` (a `fetch` body) or any async iterable of chunks (a Node stream). */
export type NDJSONSource =
  | ReadableStream<NDJSONChunk>
  | ReadableStream<Uint8Array>
  | AsyncIterable<NDJSONChunk>;

/**
 * Iterates the messages of an NDJSON byte stream, such as a `fetch` response body, in order.
 *
 * It pulls the next chunk only when the loop asks for the next message, so a slow consumer slows the
 * producer instead of buffering. Leaving the loop early (`break`, `return`, a throw) cancels the
 * source. A malformed or overlong line throws its `EnclaveError` (`DECODE_ERROR`, `LINE_TOO_LONG`)
 * after the messages before it, unless `options.onError` is given; a source that fails throws an
 * `EnclaveError` (`CONNECTION_CLOSED` unless it already was one) with the failure as `cause`.
 *
 * @example
 * const response = await fetch(`${baseUrl}/execute`, { method: 'POST', body });
 * for await (const event of readNDJSON<StreamEvent>(response.body!)) {
 *   console.log(event.seq, event.type);
 * }
 */
export async function* readNDJSON<Message = unknown>(
  source: NDJSONSource,
  options: ReadNDJSONOptions = {},
): AsyncGenerator<Message, void, undefined> {
  const decoder = new StreamDecoder<Message>(options);
  const onError = options.onError;
  const batch: Message[] = [];
  let failure: EnclaveError | undefined;
  decoder.on('message', (message) => {
    if (failure === undefined) batch.push(message);
  });
  decoder.on('error', (error) => {
    if (onError !== undefined) onError(error);
    else failure ??= error;
  });

  for await (const chunk of chunksOf(source)) {
    decoder.write(chunk);
    for (let index = 0; index < batch.length; index++) yield batch[index] as Message;
    batch.length = 0;
    if (failure !== undefined) throw failure;
  }
  decoder.end();
  for (const message of batch) yield message;
  if (failure !== undefined) throw failure;
}

function isReadableStream(source: NDJSONSource): source is ReadableStream<NDJSONChunk> {
  return typeof (source as Partial<ReadableStream>).getReader === 'function';
}

/** The chunks of `source`, with its failures turned into `EnclaveError`s. */
async function* chunksOf(source: NDJSONSource): AsyncGenerator<NDJSONChunk, void, undefined> {
  try {
    if (isReadableStream(source)) {
      // A reader rather than `for await` over the stream: Safari's ReadableStream is not iterable.
      yield* readerChunks(source.getReader());
    } else {
      yield* source;
    }
  } catch (error) {
    throw toEnclaveError(error, 'CONNECTION_CLOSED');
  }
}

async function* readerChunks(
  reader: ReadableStreamDefaultReader<NDJSONChunk>,
): AsyncGenerator<NDJSONChunk, void, undefined> {
  let finished = false;
  try {
    for (;;) {
      const result = await reader.read();
      if (result.done) {
        finished = true;
        return;
      }
      yield result.value;
    }
  } finally {
    if (finished) reader.releaseLock();
    // Stopped early or failed: tell the source that nobody reads any more (aborts a fetch body).
    else await reader.cancel().catch(() => undefined);
  }
}
