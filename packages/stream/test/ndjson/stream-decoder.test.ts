import { seededRandom } from '@enclave-vm/test-utils';
import { EnclaveError } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_LINE_SIZE } from '../../src/ndjson/max-line-size.js';
import { StreamDecoder, type StreamDecoderOptions } from '../../src/ndjson/stream-decoder.js';
import { StreamEncoder } from '../../src/ndjson/stream-encoder.js';

type Observed = { message: unknown } | { error: string; line: unknown } | { end: true };

/** A decoder that records everything it emits, in order. */
function recordingDecoder(options?: StreamDecoderOptions): { decoder: StreamDecoder; observed: Observed[] } {
  const decoder = new StreamDecoder(options);
  const observed: Observed[] = [];
  decoder.on('message', (message) => observed.push({ message }));
  decoder.on('error', (error) =>
    observed.push({ error: error.code, line: (error.details as { line: number }).line }),
  );
  decoder.on('end', () => observed.push({ end: true }));
  return { decoder, observed };
}

function messagesOf(observed: Observed[]): unknown[] {
  return observed.flatMap((entry) => ('message' in entry ? [entry.message] : []));
}

const utf8 = new TextEncoder();

describe('StreamDecoder', () => {
  it('runs the documented example: what the encoder writes, the decoder emits', () => {
    const encoder = new StreamEncoder();
    const decoder = new StreamDecoder();
    const encoded = encoder.encode({ type: 'tool_call', name: 'getData', args: {} });
    const received: unknown[] = [];
    decoder.on('message', (message) => {
      received.push(message);
    });
    decoder.write(encoded);
    expect(received).toEqual([{ type: 'tool_call', name: 'getData', args: {} }]);
  });

  it('emits every message of a chunk holding several, in order', () => {
    const { decoder, observed } = recordingDecoder();
    decoder.write('{"seq":1}\n{"seq":2}\n{"seq":3}\n');
    expect(messagesOf(observed)).toEqual([{ seq: 1 }, { seq: 2 }, { seq: 3 }]);
  });

  it('joins a message split across chunks, even one character at a time', () => {
    const { decoder, observed } = recordingDecoder();
    const text = '{"type":"stdout","payload":{"chunk":"hello\\n"}}\n{"seq":2}\n';
    for (const character of text) decoder.write(character);
    expect(messagesOf(observed)).toEqual([{ type: 'stdout', payload: { chunk: 'hello\n' } }, { seq: 2 }]);
  });

  it('emits a message only once its line is complete', () => {
    const { decoder, observed } = recordingDecoder();
    decoder.write('{"seq":1}\n{"se');
    expect(messagesOf(observed)).toEqual([{ seq: 1 }]);
    decoder.write('q":2}');
    expect(messagesOf(observed)).toEqual([{ seq: 1 }]);
    decoder.write('\n');
    expect(messagesOf(observed)).toEqual([{ seq: 1 }, { seq: 2 }]);
  });

  it('accepts \\r\\n line endings, also when \\r and \\n arrive in different chunks', () => {
    const { decoder, observed } = recordingDecoder();
    decoder.write('{"seq":1}\r\n{"seq":2}\r');
    decoder.write('\n{"text":"a\\r\\nb"}\r\n');
    expect(messagesOf(observed)).toEqual([{ seq: 1 }, { seq: 2 }, { text: 'a\r\nb' }]);
    expect(observed.some((entry) => 'error' in entry)).toBe(false);
  });

  it('decodes UTF-8 characters split between byte chunks at every position', () => {
    const message = { text: 'é中😀 — naïve ☃', emoji: '👩‍👩‍👧' };
    const bytes = utf8.encode(`${JSON.stringify(message)}\n`);
    for (let cut = 1; cut < bytes.length; cut++) {
      const { decoder, observed } = recordingDecoder();
      decoder.write(bytes.subarray(0, cut));
      decoder.write(bytes.subarray(cut));
      expect(messagesOf(observed)).toEqual([message]);
    }
  });

  it('decodes a stream fed one byte at a time', () => {
    const { decoder, observed } = recordingDecoder();
    const bytes = utf8.encode('{"a":"😀"}\n{"b":"中"}\n');
    for (let index = 0; index < bytes.length; index++) decoder.write(bytes.subarray(index, index + 1));
    expect(messagesOf(observed)).toEqual([{ a: '😀' }, { b: '中' }]);
  });

  it('accepts ArrayBuffer chunks', () => {
    const { decoder, observed } = recordingDecoder();
    const bytes = utf8.encode('{"seq":1}\n');
    decoder.write(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    expect(messagesOf(observed)).toEqual([{ seq: 1 }]);
  });

  it('ignores blank lines but counts them in line numbers', () => {
    const { decoder, observed } = recordingDecoder();
    decoder.write('\n{"seq":1}\n\n   \n\r\n\t\n{"seq":2}\nnot json\n');
    expect(observed).toEqual([
      { message: { seq: 1 } },
      { message: { seq: 2 } },
      { error: 'DECODE_ERROR', line: 8 },
    ]);
  });

  it('emits JSON values that are not objects as messages too', () => {
    const { decoder, observed } = recordingDecoder();
    decoder.write('42\n"text"\nnull\n[1,2]\ntrue\n');
    expect(messagesOf(observed)).toEqual([42, 'text', null, [1, 2], true]);
  });

  it('reports a malformed line as DECODE_ERROR with its line number and carries on', () => {
    const decoder = new StreamDecoder();
    const messages: unknown[] = [];
    const errors: EnclaveError[] = [];
    decoder.on('message', (message) => messages.push(message));
    decoder.on('error', (error) => errors.push(error));
    decoder.write('{"seq":1}\n{"seq":2,\n{"seq":3}\n');
    expect(messages).toEqual([{ seq: 1 }, { seq: 3 }]);
    expect(errors).toHaveLength(1);
    const error = errors[0] as EnclaveError;
    expect(EnclaveError.isInstance(error)).toBe(true);
    expect(error.code).toBe('DECODE_ERROR');
    expect(error.message).toContain('line 2');
    expect(error.details).toEqual({ line: 2, excerpt: '{"seq":2,' });
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it('numbers lines across chunks and across a final line without newline', () => {
    const { decoder, observed } = recordingDecoder();
    decoder.write('{"seq":1}\n{"se');
    decoder.write('q":2}\n\n');
    decoder.write('oops');
    decoder.end();
    expect(observed).toEqual([
      { message: { seq: 1 } },
      { message: { seq: 2 } },
      { error: 'DECODE_ERROR', line: 4 },
      { end: true },
    ]);
    expect(decoder.linesRead).toBe(4);
  });

  it('throws the error from write() when nobody listens for errors, after the rest of the chunk', () => {
    const decoder = new StreamDecoder();
    const messages: unknown[] = [];
    decoder.on('message', (message) => messages.push(message));
    let thrown: unknown;
    try {
      decoder.write('{"seq":1}\n{bad}\n{"seq":3}\n');
    } catch (error) {
      thrown = error;
    }
    expect(EnclaveError.isInstance(thrown) && thrown.code).toBe('DECODE_ERROR');
    expect(messages).toEqual([{ seq: 1 }, { seq: 3 }]);
    decoder.write('{"seq":4}\n');
    expect(messages).toEqual([{ seq: 1 }, { seq: 3 }, { seq: 4 }]);
  });

  it('delivers the rest of a chunk when a listener throws, then rethrows its exception', () => {
    const decoder = new StreamDecoder<{ seq: number }>();
    const seen: number[] = [];
    decoder.on('message', (message) => {
      seen.push(message.seq);
      if (message.seq === 1) throw new Error('listener failed');
    });
    expect(() => decoder.write('{"seq":1}\n{"seq":2}\n')).toThrow('listener failed');
    expect(seen).toEqual([1, 2]);
  });

  describe('maxLineSize', () => {
    it('defaults to 16 MiB', () => {
      expect(new StreamDecoder().maxLineSize).toBe(16 * 1024 * 1024);
      expect(DEFAULT_MAX_LINE_SIZE).toBe(16 * 1024 * 1024);
    });

    it('rejects an option that is not a positive integer with CONFIGURATION_ERROR', () => {
      for (const maxLineSize of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(() => new StreamDecoder({ maxLineSize })).toThrow(
          expect.objectContaining({ code: 'CONFIGURATION_ERROR' }),
        );
      }
    });

    it('accepts a line of exactly maxLineSize characters, with \\n or \\r\\n', () => {
      const line = JSON.stringify({ text: 'x'.repeat(20) });
      const { decoder, observed } = recordingDecoder({ maxLineSize: line.length });
      decoder.write(`${line}\n${line}\r\n${line}\r`);
      decoder.write(`\n${line}`);
      decoder.end();
      expect(messagesOf(observed)).toHaveLength(4);
      expect(observed.some((entry) => 'error' in entry)).toBe(false);
    });

    it('skips a longer line within one chunk with LINE_TOO_LONG and decodes the next', () => {
      const { decoder, observed } = recordingDecoder({ maxLineSize: 20 });
      decoder.write(`{"seq":1}\n${JSON.stringify({ text: 'x'.repeat(20) })}\n{"seq":3}\n`);
      expect(observed).toEqual([
        { message: { seq: 1 } },
        { error: 'LINE_TOO_LONG', line: 2 },
        { message: { seq: 3 } },
      ]);
    });

    it('reports a line spread over many chunks as soon as it passes the limit, then resynchronises', () => {
      const decoder = new StreamDecoder({ maxLineSize: 1000 });
      const errors: EnclaveError[] = [];
      const messages: unknown[] = [];
      decoder.on('error', (error) => errors.push(error));
      decoder.on('message', (message) => messages.push(message));
      decoder.write('{"seq":1}\n{"text":"');
      const piece = 'y'.repeat(1024);
      let chunksWhenReported = -1;
      // 16 MiB in all: far more than the limit, which must not be held while waiting for the newline.
      for (let index = 0; index < 16 * 1024; index++) {
        decoder.write(piece);
        if (errors.length > 0 && chunksWhenReported === -1) chunksWhenReported = index + 1;
      }
      expect(chunksWhenReported).toBe(1);
      decoder.write('"}\n{"seq":3}\n');
      expect(messages).toEqual([{ seq: 1 }, { seq: 3 }]);
      expect(errors.map((error) => [error.code, error.details])).toEqual([
        ['LINE_TOO_LONG', { line: 2, maxLineSize: 1000 }],
      ]);
      expect(errors[0]?.message).toContain('line 2');
    });

    it('reports an overlong final line without newline once, at end()', () => {
      const { decoder, observed } = recordingDecoder({ maxLineSize: 10 });
      decoder.write('{"seq":1}\n');
      decoder.write('{"seq":22222}');
      decoder.end();
      expect(observed).toEqual([{ message: { seq: 1 } }, { error: 'LINE_TOO_LONG', line: 2 }, { end: true }]);
    });

    it('rejects a line that ends one character past the limit in a later chunk', () => {
      const { decoder, observed } = recordingDecoder({ maxLineSize: 10 });
      decoder.write('{"a":"12345');
      decoder.write('6"}\n{"b":1}\n');
      expect(observed).toEqual([{ error: 'LINE_TOO_LONG', line: 1 }, { message: { b: 1 } }]);
    });
  });

  describe('end()', () => {
    it('decodes a final line that has no trailing newline, then emits end', () => {
      const { decoder, observed } = recordingDecoder();
      decoder.write('{"seq":1}\n{"seq":2}');
      expect(messagesOf(observed)).toEqual([{ seq: 1 }]);
      decoder.end();
      expect(observed).toEqual([{ message: { seq: 1 } }, { message: { seq: 2 } }, { end: true }]);
    });

    it('turns a truncated UTF-8 character at the end into U+FFFD instead of dropping the line', () => {
      const { decoder, observed } = recordingDecoder();
      const bytes = utf8.encode('"a😀');
      decoder.write(bytes.subarray(0, bytes.length - 1));
      decoder.end();
      expect(observed).toEqual([{ error: 'DECODE_ERROR', line: 1 }, { end: true }]);
    });

    it('is idempotent, and write() after it throws PROTOCOL_ERROR', () => {
      const { decoder, observed } = recordingDecoder();
      decoder.end();
      decoder.end();
      expect(observed).toEqual([{ end: true }]);
      expect(() => decoder.write('{}\n')).toThrow(expect.objectContaining({ code: 'PROTOCOL_ERROR' }));
    });
  });

  it('rejects a chunk that is neither text nor bytes with PROTOCOL_ERROR', () => {
    const decoder = new StreamDecoder();
    expect(() => decoder.write(42 as unknown as string)).toThrow(
      expect.objectContaining({ code: 'PROTOCOL_ERROR' }),
    );
  });

  it('stops calling a listener removed with off() and calls a once() listener once', () => {
    const decoder = new StreamDecoder();
    const always: unknown[] = [];
    const first: unknown[] = [];
    const removed: unknown[] = [];
    const removedListener = (message: unknown): void => {
      removed.push(message);
    };
    decoder.on('message', (message) => always.push(message));
    decoder.once('message', (message) => first.push(message));
    decoder.on('message', removedListener);
    decoder.write('1\n');
    decoder.off('message', removedListener);
    decoder.write('2\n3\n');
    expect(always).toEqual([1, 2, 3]);
    expect(first).toEqual([1]);
    expect(removed).toEqual([1]);
  });

  it('never changes its output however a fixed stream is chunked (3000 seeded random chunkings)', () => {
    const maxLineSize = 60;
    const longest = JSON.stringify({ t: 'x'.repeat(maxLineSize - 8) });
    const text = [
      '{"type":"session_init","seq":1}',
      '{"type":"stdout","payload":{"chunk":"héllo wörld\\n"}}\r',
      '',
      '{"emoji":"😀👩‍👩‍👧","cjk":"中文字"}',
      '   ',
      '{"broken":',
      `${longest}\r`,
      longest,
      `{"tooLong":"${'z'.repeat(maxLineSize)}"}`,
      '\r',
      '[1,2,3]',
      `{"alsoTooLong":"${'é'.repeat(maxLineSize)}"}\r`,
      '"last line without newline"',
    ].join('\n');
    const expected: Observed[] = [
      { message: { type: 'session_init', seq: 1 } },
      { message: { type: 'stdout', payload: { chunk: 'héllo wörld\n' } } },
      { message: { emoji: '😀👩‍👩‍👧', cjk: '中文字' } },
      { error: 'DECODE_ERROR', line: 6 },
      { message: JSON.parse(longest) },
      { message: JSON.parse(longest) },
      { error: 'LINE_TOO_LONG', line: 9 },
      { message: [1, 2, 3] },
      { error: 'LINE_TOO_LONG', line: 12 },
      { message: 'last line without newline' },
      { end: true },
    ];
    const bytes = utf8.encode(text);
    const random = seededRandom(20240611);
    for (let run = 0; run < 3000; run++) {
      const { decoder, observed } = recordingDecoder({ maxLineSize });
      const asBytes = run % 2 === 0;
      const length = asBytes ? bytes.length : text.length;
      const maxChunk = 1 + Math.floor(random() * 40);
      let position = 0;
      while (position < length) {
        const size = 1 + Math.floor(random() * maxChunk);
        if (asBytes) decoder.write(bytes.subarray(position, position + size));
        else decoder.write(text.slice(position, position + size));
        position += size;
      }
      decoder.end();
      expect(observed).toEqual(expected);
    }
  });
});
