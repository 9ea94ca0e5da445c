import { EnclaveError } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import { parseNDJSON } from '../../src/ndjson/parse-ndjson.js';
import { stringifyNDJSON } from '../../src/ndjson/stringify-ndjson.js';

describe('parseNDJSON', () => {
  it('parses what stringifyNDJSON wrote (the documented example)', () => {
    const ndjson = stringifyNDJSON([
      { type: 'start', sessionId: '123' },
      { type: 'tool_call', name: 'getData', args: {} },
      { type: 'end' },
    ]);
    const messages = parseNDJSON(ndjson);
    expect(messages).toEqual([
      { type: 'start', sessionId: '123' },
      { type: 'tool_call', name: 'getData', args: {} },
      { type: 'end' },
    ]);
  });

  it('accepts \\r\\n, blank lines and a last line without newline', () => {
    expect(parseNDJSON('\n{"seq":1}\r\n\r\n  \n{"seq":2}\n\n{"seq":3}')).toEqual([
      { seq: 1 },
      { seq: 2 },
      { seq: 3 },
    ]);
  });

  it('returns an empty array for empty or blank text', () => {
    expect(parseNDJSON('')).toEqual([]);
    expect(parseNDJSON('\n\r\n \n')).toEqual([]);
  });

  it('throws DECODE_ERROR naming the first bad line', () => {
    let thrown: unknown;
    try {
      parseNDJSON('{"seq":1}\n\n{"seq":\n{"seq":4}\nnope\n');
    } catch (error) {
      thrown = error;
    }
    expect(EnclaveError.isInstance(thrown)).toBe(true);
    const error = thrown as EnclaveError;
    expect(error.code).toBe('DECODE_ERROR');
    expect(error.message).toContain('line 3');
    expect(error.details).toEqual({ line: 3, excerpt: '{"seq":' });
  });

  it('skips bad lines and reports each to onError when it is given', () => {
    const errors: EnclaveError[] = [];
    const messages = parseNDJSON('{"seq":1}\n{"seq":\n{"seq":3}\nnope', {
      onError: (error) => errors.push(error),
    });
    expect(messages).toEqual([{ seq: 1 }, { seq: 3 }]);
    expect(errors.map((error) => [error.code, (error.details as { line: number }).line])).toEqual([
      ['DECODE_ERROR', 2],
      ['DECODE_ERROR', 4],
    ]);
  });

  it('shortens the excerpt of a long bad line', () => {
    const errors: EnclaveError[] = [];
    parseNDJSON(`{"text":"${'x'.repeat(500)}`, { onError: (error) => errors.push(error) });
    const excerpt = (errors[0]!.details as { excerpt: string }).excerpt;
    expect(excerpt.length).toBeLessThanOrEqual(81);
    expect(excerpt.endsWith('…')).toBe(true);
  });

  it('types the result with the given message type', () => {
    const messages = parseNDJSON<{ seq: number }>('{"seq":7}\n');
    expect(messages[0]?.seq).toBe(7);
  });
});
