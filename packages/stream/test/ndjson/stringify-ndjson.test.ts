import { describe, expect, it } from 'vitest';
import { stringifyNDJSON } from '../../src/ndjson/stringify-ndjson.js';

describe('stringifyNDJSON', () => {
  it('writes one line per message, each ending in a newline (the documented example)', () => {
    const ndjson = stringifyNDJSON([
      { type: 'start', sessionId: '123' },
      { type: 'tool_call', name: 'getData', args: {} },
      { type: 'end' },
    ]);
    expect(ndjson).toBe(
      '{"type":"start","sessionId":"123"}\n{"type":"tool_call","name":"getData","args":{}}\n{"type":"end"}\n',
    );
  });

  it('writes nothing for no messages', () => {
    expect(stringifyNDJSON([])).toBe('');
  });

  it('accepts any iterable', () => {
    expect(stringifyNDJSON(new Set([1, 2]))).toBe('1\n2\n');
  });

  it('throws BAD_REQUEST for a message JSON cannot represent', () => {
    expect(() => stringifyNDJSON([{ ok: true }, () => 1])).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST' }),
    );
  });
});
