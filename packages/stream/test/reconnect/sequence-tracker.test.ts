import { describe, expect, it } from 'vitest';
import { SequenceTracker } from '../../src/reconnect/sequence-tracker.js';

describe('SequenceTracker', () => {
  it('starts before seq 1 and expects seq 1 next', () => {
    const tracker = new SequenceTracker();
    expect(tracker.lastSeq).toBe(0);
    expect(tracker.nextSeq).toBe(1);
    expect(tracker.check(1)).toBe('next');
  });

  it('classifies seqs as next, duplicate or gap relative to the last delivered', () => {
    const tracker = new SequenceTracker(10);
    expect(tracker.check(11)).toBe('next');
    expect(tracker.check(10)).toBe('duplicate');
    expect(tracker.check(3)).toBe('duplicate');
    expect(tracker.check(12)).toBe('gap');
    expect(tracker.check(500)).toBe('gap');
  });

  it('advances one seq at a time', () => {
    const tracker = new SequenceTracker();
    tracker.advance(1);
    tracker.advance(2);
    expect(tracker.lastSeq).toBe(2);
    expect(tracker.nextSeq).toBe(3);
    expect(tracker.check(2)).toBe('duplicate');
  });

  it('refuses to advance past a gap or backwards', () => {
    const tracker = new SequenceTracker(5);
    expect(() => tracker.advance(7)).toThrow(expect.objectContaining({ code: 'PROTOCOL_ERROR' }));
    expect(() => tracker.advance(5)).toThrow(/expected seq 6/);
    expect(tracker.lastSeq).toBe(5);
  });

  it('rejects seqs that are not positive integers', () => {
    const tracker = new SequenceTracker();
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => tracker.check(bad)).toThrow(expect.objectContaining({ code: 'PROTOCOL_ERROR' }));
    }
    expect(() => new SequenceTracker(-1)).toThrow(expect.objectContaining({ code: 'PROTOCOL_ERROR' }));
  });
});
