import { EnclaveError } from '@enclave-vm/types';
import { exceedsMaxLineSize, lineTooLongError, unparsableLineError } from './line-errors.js';
import { resolveMaxLineSize } from './max-line-size.js';
import { TypedEventEmitter } from './typed-event-emitter.js';

/** A chunk of NDJSON input: text, or UTF-8 bytes (a multi-byte character may be split across chunks). */
export type NDJSONChunk = string | Uint8Array | ArrayBuffer;

/** Options of {@link StreamDecoder}. */
export interface StreamDecoderOptions {
  /**
   * The longest line accepted, in UTF-16 code units of the decoded line without its line break
   * (equal to bytes for ASCII text). A longer line is reported as a `LINE_TOO_LONG` error and
   * skipped; at most this much of it is ever held in memory.
   * @default DEFAULT_MAX_LINE_SIZE (16 MiB)
   */
  maxLineSize?: number;
}

/** The events of a {@link StreamDecoder} and the arguments their listeners receive. */
export type StreamDecoderEvents<Message> = {
  /** A line was parsed. */
  message: [message: Message];
  /**
   * A line was skipped: `DECODE_ERROR` (not JSON) or `LINE_TOO_LONG`. `error.details.line` is its
   * 1-based line number. Decoding carries on with the next line.
   */
  error: [error: EnclaveError];
  /** {@link StreamDecoder.end} was called and the last line has been delivered. */
  end: [];
};

/**
 * Incremental NDJSON decoder: feed it chunks as they arrive with {@link StreamDecoder.write} and it
 * emits one `message` per JSON line, in order.
 *
 * - A message may be split across chunks, and a chunk may hold many messages.
 * - Lines may end in `\n` or `\r\n`; blank lines are ignored.
 * - Bytes are decoded as UTF-8 with a streaming `TextDecoder`, so a character split across chunks
 *   arrives intact; invalid bytes become U+FFFD.
 * - A malformed or overlong line emits `error` and is skipped; the next line decodes normally.
 *   Without an `error` listener, `write()` throws that error instead, after processing its whole chunk.
 * - A listener that throws does not stop the chunk: the remaining lines are still delivered, then
 *   `write()` rethrows the first exception.
 *
 * @example
 * const decoder = new StreamDecoder();
 * decoder.on('message', (message) => console.log('Received:', message));
 * decoder.write('{"type":"stdout","payload":{"chunk":"hi\\n"}}\n');
 */
export class StreamDecoder<Message = unknown> extends TypedEventEmitter<StreamDecoderEvents<Message>> {
  /** The longest line accepted. */
  readonly maxLineSize: number;
  private textDecoder: TextDecoder | undefined;
  // The start of a line whose end has not arrived, kept in parts and joined once, when it completes.
  private pendingParts: string[] = [];
  private pendingLength = 0;
  // True while skipping the rest of an overlong line, up to its line break.
  private discarding = false;
  private completedLines = 0;
  private ended = false;
  private failed = false;
  private failure: unknown;

  constructor(options: StreamDecoderOptions = {}) {
    super();
    this.maxLineSize = resolveMaxLineSize(options.maxLineSize);
  }

  /** The number of complete lines read so far, blank and skipped lines included. */
  get linesRead(): number {
    return this.completedLines;
  }

  /**
   * Decodes one chunk and emits a `message` for each line it completes. Throws an `EnclaveError`
   * (`PROTOCOL_ERROR`) after {@link StreamDecoder.end} or for a chunk that is neither text nor bytes.
   */
  write(chunk: NDJSONChunk): void {
    if (this.ended) {
      throw new EnclaveError('PROTOCOL_ERROR', 'StreamDecoder.write() was called after end()', {
        cause: undefined,
      });
    }
    if (typeof chunk === 'string') this.consume(chunk);
    else this.consume(this.decodeBytes(chunk));
    this.throwFailure();
  }

  /**
   * Ends the input: decodes a last line that has no trailing newline, then emits `end`. Calling it
   * again does nothing.
   */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.textDecoder !== undefined) {
      // Flushes an incomplete trailing character (as U+FFFD).
      const rest = this.textDecoder.decode();
      if (rest.length > 0) this.consume(rest);
    }
    this.finishLastLine();
    try {
      this.emit('end');
    } catch (error) {
      this.recordFailure(error);
    }
    this.throwFailure();
  }

  private decodeBytes(chunk: Uint8Array | ArrayBuffer): string {
    if (!ArrayBuffer.isView(chunk) && !(chunk instanceof ArrayBuffer)) {
      throw new EnclaveError(
        'PROTOCOL_ERROR',
        `StreamDecoder.write() takes a string or bytes, got ${typeof chunk}`,
        {
          cause: undefined,
        },
      );
    }
    this.textDecoder ??= new TextDecoder();
    return this.textDecoder.decode(chunk, { stream: true });
  }

  private consume(text: string): void {
    const maxLineSize = this.maxLineSize;
    let start = 0;
    let newline = text.indexOf('\n');
    if (this.pendingLength > 0 || this.discarding) {
      if (newline === -1) {
        this.appendPending(text);
        return;
      }
      this.finishPendingLine(text, newline);
      start = newline + 1;
      newline = text.indexOf('\n', start);
    }
    while (newline !== -1) {
      this.completedLines++;
      const length = newline - start;
      if (length > maxLineSize && exceedsMaxLineSize(length, text.charCodeAt(newline - 1), maxLineSize)) {
        this.reportError(lineTooLongError(this.completedLines, maxLineSize));
      } else if (length > 0) {
        this.deliverLine(text.slice(start, newline));
      }
      start = newline + 1;
      newline = text.indexOf('\n', start);
    }
    if (start < text.length) this.appendPending(start === 0 ? text : text.slice(start));
  }

  private appendPending(part: string): void {
    if (this.discarding) return;
    const length = this.pendingLength + part.length;
    // One code unit of slack: the line may still turn out to end in `\r\n`.
    if (length > this.maxLineSize + 1) {
      this.clearPending();
      this.discarding = true;
      this.reportError(lineTooLongError(this.completedLines + 1, this.maxLineSize));
      return;
    }
    this.pendingParts.push(part);
    this.pendingLength = length;
  }

  /** Completes the pending line with `text` up to `newline`. */
  private finishPendingLine(text: string, newline: number): void {
    this.completedLines++;
    if (this.discarding) {
      // Its LINE_TOO_LONG error was reported when it outgrew the limit.
      this.discarding = false;
      return;
    }
    const parts = this.pendingParts;
    const length = this.pendingLength + newline;
    const lastPart = parts[parts.length - 1] as string;
    const lastCharacterCode =
      newline > 0 ? text.charCodeAt(newline - 1) : lastPart.charCodeAt(lastPart.length - 1);
    if (exceedsMaxLineSize(length, lastCharacterCode, this.maxLineSize)) {
      this.clearPending();
      this.reportError(lineTooLongError(this.completedLines, this.maxLineSize));
      return;
    }
    parts.push(text.slice(0, newline));
    const line = parts.join('');
    this.clearPending();
    this.deliverLine(line);
  }

  private finishLastLine(): void {
    if (this.discarding) {
      this.completedLines++;
      this.discarding = false;
      return;
    }
    if (this.pendingLength === 0) return;
    this.completedLines++;
    const line = this.pendingParts.join('');
    this.clearPending();
    this.checkAndDeliver(line);
  }

  private checkAndDeliver(line: string): void {
    if (exceedsMaxLineSize(line.length, line.charCodeAt(line.length - 1), this.maxLineSize)) {
      this.reportError(lineTooLongError(this.completedLines, this.maxLineSize));
    } else {
      this.deliverLine(line);
    }
  }

  private clearPending(): void {
    this.pendingParts = [];
    this.pendingLength = 0;
  }

  private deliverLine(line: string): void {
    let message: Message;
    try {
      message = JSON.parse(line);
    } catch (cause) {
      const error = unparsableLineError(line, this.completedLines, cause);
      if (error !== undefined) this.reportError(error);
      return;
    }
    try {
      this.emit('message', message);
    } catch (error) {
      this.recordFailure(error);
    }
  }

  private reportError(error: EnclaveError): void {
    if (this.listenerCount('error') === 0) {
      this.recordFailure(error);
      return;
    }
    try {
      this.emit('error', error);
    } catch (listenerError) {
      this.recordFailure(listenerError);
    }
  }

  private recordFailure(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.failure = error;
  }

  private throwFailure(): void {
    if (!this.failed) return;
    const failure = this.failure;
    this.failed = false;
    this.failure = undefined;
    throw failure;
  }
}
