import { StreamDecoder } from '@enclave-vm/stream';
import { EnclaveError, toEnclaveError } from '@enclave-vm/types';
import type { BatchHandler, BatchOutcome } from './batch-handler.js';

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
  /**
   * When positive, reading goes on while `onBatch` handles a batch, until this many lines wait;
   * the lines that arrived meanwhile are handed over as the next batch. Off (0) reads only after
   * each batch was handled. @default 0
   */
  readAhead?: number;
}

/** What one read of the body gave. */
type ChunkRead = { kind: 'chunk'; chunk: Uint8Array } | { kind: 'ended'; outcome: BodyOutcome };

/** What the read-ahead loop waits for: a read or the handling of a batch. */
type Step = { kind: 'read'; read: ChunkRead } | { kind: 'handled'; outcome: BatchOutcome };

/** The body outcome a batch outcome ends the reading with, or undefined to go on. */
function toBodyOutcome(outcome: BatchOutcome): BodyOutcome | undefined {
  if (outcome === 'final') return { kind: 'final' };
  if (outcome === 'gap') {
    return {
      kind: 'broken',
      reason: new EnclaveError('PROTOCOL_ERROR', 'The event stream skipped a seq; resuming from it'),
    };
  }
  return undefined;
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

  /** One read of the body: a chunk, or how the reading ended. */
  const readChunk = async (): Promise<ChunkRead> => {
    arm();
    try {
      const read = await reader.read();
      disarm();
      if (read.done) {
        if (options.signal.aborted) return { kind: 'ended', outcome: { kind: 'stopped' } };
        return {
          kind: 'ended',
          outcome: {
            kind: 'broken',
            reason: timedOut ?? new EnclaveError('CONNECTION_CLOSED', 'The event stream ended before final'),
          },
        };
      }
      return { kind: 'chunk', chunk: read.value };
    } catch (error) {
      disarm();
      if (options.signal.aborted) return { kind: 'ended', outcome: { kind: 'stopped' } };
      return {
        kind: 'ended',
        outcome: { kind: 'broken', reason: timedOut ?? toEnclaveError(error, 'CONNECTION_CLOSED') },
      };
    }
  };

  try {
    if (!(options.readAhead !== undefined && options.readAhead > 0)) {
      for (;;) {
        if (options.signal.aborted) return { kind: 'stopped' };
        const read = await readChunk();
        if (read.kind !== 'chunk') return read.outcome;
        decoder.write(read.chunk);
        if (lines.length > 0) {
          const batch = lines;
          lines = [];
          const outcome = toBodyOutcome(await options.onBatch(batch, options.filtered));
          if (outcome !== undefined) return outcome;
        }
        if (decodeFailure !== undefined) return { kind: 'broken', reason: decodeFailure };
      }
    }
    // Read ahead: the next reads go on while a batch is handled (up to `readAhead` lines waiting),
    // and the lines that arrived meanwhile make the next batch.
    const readAhead = options.readAhead;
    let reading: Promise<Step> | undefined;
    let handling: Promise<Step> | undefined;
    let ended: BodyOutcome | undefined;
    for (;;) {
      if (handling === undefined) {
        if (lines.length > 0) {
          const batch = lines;
          lines = [];
          handling = options
            .onBatch(batch, options.filtered)
            .then((outcome) => ({ kind: 'handled', outcome }));
        } else if (ended !== undefined) {
          return ended;
        } else if (decodeFailure !== undefined) {
          return { kind: 'broken', reason: decodeFailure };
        }
      }
      if (
        reading === undefined &&
        ended === undefined &&
        decodeFailure === undefined &&
        lines.length < readAhead
      ) {
        if (options.signal.aborted) ended = { kind: 'stopped' };
        else reading = readChunk().then((read) => ({ kind: 'read', read }));
      }
      if (reading === undefined && handling === undefined) continue;
      const step = await (reading === undefined
        ? handling
        : handling === undefined
          ? reading
          : Promise.race([reading, handling]));
      if (step === undefined) continue;
      if (step.kind === 'handled') {
        handling = undefined;
        const outcome = toBodyOutcome(step.outcome);
        if (outcome !== undefined) return outcome;
        continue;
      }
      reading = undefined;
      if (step.read.kind === 'chunk') decoder.write(step.read.chunk);
      else ended = step.read.outcome;
    }
  } finally {
    disarm();
    options.signal.removeEventListener('abort', onAbort);
    reader.cancel().catch(() => undefined);
  }
}
