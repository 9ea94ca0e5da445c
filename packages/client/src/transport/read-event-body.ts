import { StreamDecoder } from '@enclave-vm/stream';
import { EnclaveError, toEnclaveError } from '@enclave-vm/types';
import type { BatchHandler } from './batch-handler.js';

/** How reading one response ended: after `final`, or broken (with why), or stopped on purpose. */
export type BodyOutcome = { kind: 'final' } | { kind: 'broken'; reason: EnclaveError } | { kind: 'stopped' };

/** Options of {@link readEventBody}. */
export interface ReadEventBodyOptions {
  /** Whether the broker filters this stream. */
  filtered: boolean;
  onBatch: BatchHandler;
  /** Stops the reading. */
  signal: AbortSignal;
  /** Ms without a byte after which the connection counts as dead; 0 for never. */
  heartbeatTimeout: number;
}

/**
 * Reads an NDJSON event response chunk by chunk and hands each chunk's complete lines to `onBatch`
 * at once (one call per network read, not per event). A line cut by a dropped connection is
 * discarded, not parsed. Errors of `onBatch` are thrown; every way the connection can fail is
 * returned as `broken`, so that the caller resumes.
 */
export async function readEventBody(response: Response, options: ReadEventBodyOptions): Promise<BodyOutcome> {
  const body = response.body;
  if (body === null) {
    return {
      kind: 'broken',
      reason: new EnclaveError('CONNECTION_CLOSED', 'The event response has no body'),
    };
  }
  const reader = body.getReader();
  const decoder = new StreamDecoder<unknown>();
  let lines: unknown[] = [];
  let decodeFailure: EnclaveError | undefined;
  decoder.on('message', (line) => {
    if (decodeFailure === undefined) lines.push(line);
  });
  decoder.on('error', (error) => {
    decodeFailure ??= error;
  });

  let timedOut: EnclaveError | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const disarm = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  const arm = (): void => {
    disarm();
    if (options.heartbeatTimeout <= 0) return;
    timer = setTimeout(() => {
      timedOut = new EnclaveError(
        'HEARTBEAT_TIMEOUT',
        `No data from the broker within ${options.heartbeatTimeout} ms`,
      );
      reader.cancel(timedOut).catch(() => undefined);
    }, options.heartbeatTimeout);
  };
  const onAbort = (): void => {
    reader.cancel(options.signal.reason).catch(() => undefined);
  };
  options.signal.addEventListener('abort', onAbort, { once: true });

  try {
    for (;;) {
      if (options.signal.aborted) return { kind: 'stopped' };
      arm();
      let chunk: Uint8Array;
      try {
        const read = await reader.read();
        disarm();
        if (read.done) {
          if (options.signal.aborted) return { kind: 'stopped' };
          return {
            kind: 'broken',
            reason: timedOut ?? new EnclaveError('CONNECTION_CLOSED', 'The event stream ended before final'),
          };
        }
        chunk = read.value;
      } catch (error) {
        disarm();
        if (options.signal.aborted) return { kind: 'stopped' };
        return { kind: 'broken', reason: timedOut ?? toEnclaveError(error, 'CONNECTION_CLOSED') };
      }
      decoder.write(chunk);
      if (lines.length > 0) {
        const batch = lines;
        lines = [];
        const outcome = await options.onBatch(batch, options.filtered);
        if (outcome === 'final') return { kind: 'final' };
        if (outcome === 'gap') {
          return {
            kind: 'broken',
            reason: new EnclaveError('PROTOCOL_ERROR', 'The event stream skipped a seq; resuming from it'),
          };
        }
      }
      if (decodeFailure !== undefined) return { kind: 'broken', reason: decodeFailure };
    }
  } finally {
    disarm();
    options.signal.removeEventListener('abort', onAbort);
    reader.cancel().catch(() => undefined);
  }
}
