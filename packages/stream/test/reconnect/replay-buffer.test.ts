import { describe, expect, it } from 'vitest';
import { ReplayBuffer } from '../../src/reconnect/replay-buffer.js';

interface TestEvent {
  seq: number;
  text?: string;
}

function fill(buffer: ReplayBuffer<TestEvent>, from: number, to: number): void {
  for (let seq = from; seq <= to; seq++) buffer.append({ seq });
}

function seqs(events: TestEvent[]): number[] {
  return events.map((event) => event.seq);
}

describe('ReplayBuffer', () => {
  it('holds appended events and serves ranges from a seq, inclusive', () => {
    const buffer = new ReplayBuffer<TestEvent>({ maxEvents: 100 });
    expect(buffer.size).toBe(0);
    expect(buffer.firstSeq).toBeUndefined();
    expect(buffer.lastSeq).toBeUndefined();
    fill(buffer, 1, 10);
    expect(buffer.size).toBe(10);
    expect(buffer.firstSeq).toBe(1);
    expect(buffer.lastSeq).toBe(10);
    const range = buffer.since(7);
    expect(range.ok && seqs(range.events)).toEqual([7, 8, 9, 10]);
    const all = buffer.since(1);
    expect(all.ok && all.events.length).toBe(10);
  });

  it('returns no events for a seq not produced yet', () => {
    const buffer = new ReplayBuffer<TestEvent>({ maxEvents: 10 });
    expect(buffer.since(1)).toEqual({ ok: true, events: [] });
    fill(buffer, 1, 3);
    expect(buffer.since(4)).toEqual({ ok: true, events: [] });
    expect(buffer.since(99)).toEqual({ ok: true, events: [] });
  });

  it('finds single events by seq', () => {
    const buffer = new ReplayBuffer<TestEvent>({ maxEvents: 4 });
    fill(buffer, 1, 6);
    expect(buffer.get(2)).toBeUndefined();
    expect(buffer.get(3)).toEqual({ seq: 3 });
    expect(buffer.get(6)).toEqual({ seq: 6 });
    expect(buffer.get(7)).toBeUndefined();
    expect(buffer.get(4.5)).toBeUndefined();
  });

  it('evicts the oldest past maxEvents and says so when an evicted range is requested', () => {
    const buffer = new ReplayBuffer<TestEvent>({ maxEvents: 5 });
    fill(buffer, 1, 12);
    expect(buffer.size).toBe(5);
    expect(buffer.firstSeq).toBe(8);
    expect(buffer.lastSeq).toBe(12);
    expect(buffer.since(3)).toEqual({ ok: false, reason: 'evicted', firstAvailableSeq: 8 });
    expect(buffer.since(7)).toEqual({ ok: false, reason: 'evicted', firstAvailableSeq: 8 });
    const range = buffer.since(8);
    expect(range.ok && seqs(range.events)).toEqual([8, 9, 10, 11, 12]);
  });

  it('keeps order across many wrap-arounds of the ring', () => {
    const buffer = new ReplayBuffer<TestEvent>({ maxEvents: 37 });
    for (let seq = 1; seq <= 1000; seq++) {
      buffer.append({ seq });
      if (seq % 97 === 0) {
        const range = buffer.since(buffer.firstSeq ?? 1);
        const expected = Array.from(
          { length: Math.min(seq, 37) },
          (_, index) => seq - Math.min(seq, 37) + 1 + index,
        );
        expect(range.ok && seqs(range.events)).toEqual(expected);
      }
    }
  });

  it('evicts the oldest past maxBytes, measured as UTF-8 JSON by default', () => {
    const buffer = new ReplayBuffer<TestEvent>({ maxEvents: 1000, maxBytes: 100 });
    // {"seq":1,"text":"é"} is 20 characters and 21 UTF-8 bytes.
    const oneEventBytes = new TextEncoder().encode(JSON.stringify({ seq: 1, text: 'é' })).byteLength;
    buffer.append({ seq: 1, text: 'é' });
    expect(buffer.byteSize).toBe(oneEventBytes);
    for (let seq = 2; seq <= 9; seq++) buffer.append({ seq, text: 'é' });
    expect(buffer.byteSize).toBeLessThanOrEqual(100);
    expect(buffer.size).toBe(Math.floor(100 / oneEventBytes));
    expect(buffer.lastSeq).toBe(9);
    expect(buffer.since(1)).toMatchObject({ ok: false, firstAvailableSeq: buffer.firstSeq });
  });

  it('counts a character outside the BMP as 4 bytes', () => {
    const buffer = new ReplayBuffer<TestEvent>({ maxEvents: 10, maxBytes: 1000 });
    buffer.append({ seq: 1, text: '😀' });
    expect(buffer.byteSize).toBe(new TextEncoder().encode(JSON.stringify({ seq: 1, text: '😀' })).byteLength);
  });

  it('uses a custom sizeOf and always keeps the newest event even when it alone is too large', () => {
    const buffer = new ReplayBuffer<TestEvent>({
      maxEvents: 10,
      maxBytes: 10,
      sizeOf: (event) => event.seq * 4,
    });
    fill(buffer, 1, 2);
    expect(buffer.byteSize).toBe(12 - 4);
    buffer.append({ seq: 3 });
    expect(buffer.size).toBe(1);
    expect(buffer.get(3)).toEqual({ seq: 3 });
    expect(buffer.byteSize).toBe(12);
  });

  it('rejects an append that is not the next seq', () => {
    const buffer = new ReplayBuffer<TestEvent>({ maxEvents: 10 });
    buffer.append({ seq: 5 });
    expect(() => buffer.append({ seq: 7 })).toThrow(expect.objectContaining({ code: 'PROTOCOL_ERROR' }));
    expect(() => buffer.append({ seq: 5 })).toThrow(/Expected seq 6/);
    expect(() => new ReplayBuffer<TestEvent>({ maxEvents: 1 }).append({ seq: 0 })).toThrow(
      expect.objectContaining({ code: 'PROTOCOL_ERROR' }),
    );
  });

  it('may start at any seq; nothing before the first appended counts as evicted', () => {
    const buffer = new ReplayBuffer<TestEvent>({ maxEvents: 10 });
    fill(buffer, 40, 42);
    const range = buffer.since(1);
    expect(range.ok && seqs(range.events)).toEqual([40, 41, 42]);
  });

  it('clear() empties it and lets it start over', () => {
    const buffer = new ReplayBuffer<TestEvent>({ maxEvents: 2, maxBytes: 1000 });
    fill(buffer, 1, 5);
    buffer.clear();
    expect(buffer.size).toBe(0);
    expect(buffer.byteSize).toBe(0);
    expect(buffer.since(1)).toEqual({ ok: true, events: [] });
    buffer.append({ seq: 1 });
    expect(buffer.firstSeq).toBe(1);
  });

  it('validates its options and arguments', () => {
    const configuration = expect.objectContaining({ code: 'CONFIGURATION_ERROR' });
    expect(() => new ReplayBuffer<TestEvent>({ maxEvents: 0 })).toThrow(configuration);
    expect(() => new ReplayBuffer<TestEvent>({ maxEvents: 1.5 })).toThrow(configuration);
    expect(() => new ReplayBuffer<TestEvent>({ maxEvents: 1, maxBytes: 0 })).toThrow(configuration);
    expect(() => new ReplayBuffer<TestEvent>({ maxEvents: 1 }).since(0)).toThrow(
      expect.objectContaining({ code: 'VALIDATION_ERROR' }),
    );
  });
});
