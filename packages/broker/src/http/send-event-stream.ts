import { StreamEncoder } from '@enclave-vm/stream';
import type { Logger, StreamEvent } from '@enclave-vm/types';
import type { FastifyReply } from 'fastify';
import type { ActiveStreams } from './active-streams.js';
import { pumpEvents } from './pump-events.js';

/** Frames each event as one NDJSON line (stateless: one serves every stream). */
const encoder = new StreamEncoder<StreamEvent>();

/** Options of {@link sendEventStream}. */
export interface SendEventStreamOptions {
  /** Where the stream registers itself, so closing the app ends it. */
  activeStreams: ActiveStreams;
  /** Extra response headers (e.g. `x-session-id`). */
  headers?: Record<string, string>;
  /** An event already taken from the iterator, written first. */
  first?: IteratorResult<StreamEvent>;
  logger?: Logger;
}

/**
 * Answers with `application/x-ndjson`: one JSON event per line, each written as soon as the broker
 * logs it. Events produced in the same tick leave in one chunk (the response is corked until the
 * next tick), so short runs cost a few writes rather than one per event. When the client goes away
 * the iteration stops; the session itself runs on.
 */
export async function sendEventStream(
  reply: FastifyReply,
  iterator: AsyncIterator<StreamEvent>,
  options: SendEventStreamOptions,
): Promise<void> {
  const response = reply.raw;
  reply.hijack();
  // Headers set by hooks (CORS, rate limit) travel with the hijacked response.
  const headers: Record<string, string | number | string[]> = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined) headers[name] = value;
  }
  response.writeHead(200, {
    ...headers,
    'content-type': 'application/x-ndjson; charset=utf-8',
    'cache-control': 'no-store',
    // Reverse proxies (nginx) would otherwise buffer the stream.
    'x-accel-buffering': 'no',
    ...options.headers,
  });
  // Headers leave with the first event when it comes at once (it does for /execute: session_init is
  // logged), saving a write; a stream that waits for live events sends them on the next turn.
  let wroteEvent = false;
  const flushTimer = setImmediate(() => {
    if (!wroteEvent && !response.writableEnded) response.flushHeaders();
  });

  const stream = options.activeStreams.open();
  const onClose = (): void => stream.stop();
  response.on('close', onClose);
  let corked = false;
  const uncork = (): void => {
    corked = false;
    response.uncork();
  };
  try {
    await pumpEvents(
      iterator,
      stream.signal,
      (event) => {
        wroteEvent = true;
        if (!corked) {
          corked = true;
          response.cork();
          process.nextTick(uncork);
        }
        if (!response.write(encoder.encode(event))) return waitForDrain(response, stream.signal);
      },
      options.first,
    );
  } catch (error) {
    // Headers are gone: the client sees a stream without `final` and resumes from its last seq.
    options.logger?.warn('Event stream ended early', {
      error: error instanceof Error ? error.message : String(error),
    });
  } finally {
    clearImmediate(flushTimer);
    response.off('close', onClose);
    stream.release();
    if (!response.writableEnded) response.end();
  }
}

function waitForDrain(response: FastifyReply['raw'], signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      response.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    response.on('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}
