import { ConnectionLost, StreamDecoder } from '@enclave-vm/stream';
import { EnclaveError, toEnclaveError } from '@enclave-vm/types';

/** Options of {@link readEventBody}. */
export interface ReadEventBodyOptions {
  /** Stops the reading and cancels the body. */
  signal: AbortSignal;
  /**
   * When positive, reading goes on while the consumer handles a batch, until this many lines wait;
   * the lines that arrived meanwhile are handed over as the next batch. Off (0) reads only when the
   * consumer asks for the next batch.
   * @default 0
   */
  readAhead?: number;
}

/**
 * Reads an NDJSON event response and yields each network read's complete lines as one batch (an
 * empty batch for a read that completed no line, so the reader knows the connection is alive). A
 * line cut by a dropped connection is discarded, not parsed. The iteration ends when the body ends
 * or `signal` aborts; a failed read throws `CONNECTION_CLOSED`, a line that cannot be decoded a
 * {@link ConnectionLost}, both of which make a resumable reader resume.
 */
export async function* readEventBody(
  response: Response,
  options: ReadEventBodyOptions,
): AsyncGenerator<unknown[], void, undefined> {
  const body = response.body;
  if (body === null) throw new EnclaveError('CONNECTION_CLOSED', 'The event response has no body');
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
  const { signal } = options;
  const onAbort = (): void => {
    reader.cancel(signal.reason).catch(() => undefined);
  };
  signal.addEventListener('abort', onAbort, { once: true });

  /** One read into `lines`: false when the body ended or the reading stopped. */
  const readChunk = async (): Promise<boolean> => {
    let read: ReadableStreamReadResult<Uint8Array>;
    try {
      read = await reader.read();
    } catch (error) {
      if (signal.aborted) return false;
      throw toEnclaveError(error, 'CONNECTION_CLOSED');
    }
    if (read.done) return false;
    decoder.write(read.value);
    return true;
  };
  const take = (): unknown[] => {
    const batch = lines;
    lines = [];
    return batch;
  };

  try {
    const readAhead = options.readAhead ?? 0;
    if (readAhead <= 0) {
      while (!signal.aborted && (await readChunk())) {
        yield take();
        if (decodeFailure !== undefined) throw new ConnectionLost(decodeFailure);
      }
      return;
    }
    // Read ahead: a pump reads on while the consumer handles a batch (up to `readAhead` lines
    // waiting), and what arrived meanwhile makes the next batch.
    let chunks = 0;
    let ended = false;
    let readFailure: unknown;
    let wake: (() => void) | undefined;
    let room: (() => void) | undefined;
    const pump = async (): Promise<void> => {
      try {
        for (;;) {
          while (lines.length >= readAhead && !signal.aborted) {
            await new Promise<void>((resolve) => {
              room = resolve;
            });
          }
          if (signal.aborted || !(await readChunk())) break;
          chunks++;
          wake?.();
          if (decodeFailure !== undefined) break;
        }
      } catch (error) {
        readFailure = error;
      }
      ended = true;
      wake?.();
    };
    const stopPump = (): void => room?.();
    signal.addEventListener('abort', stopPump, { once: true });
    void pump();
    try {
      for (;;) {
        if (chunks === 0 && !ended) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
          continue;
        }
        if (chunks > 0) {
          chunks = 0;
          const batch = take();
          room?.();
          room = undefined;
          yield batch;
          continue;
        }
        if (readFailure !== undefined) throw readFailure;
        if (decodeFailure !== undefined) throw new ConnectionLost(decodeFailure);
        return;
      }
    } finally {
      signal.removeEventListener('abort', stopPump);
      room?.();
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    reader.cancel().catch(() => undefined);
  }
}
