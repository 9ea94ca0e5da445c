import { EnclaveError } from '@enclave-vm/types';

/** Options of {@link ReplayBuffer}. */
export interface ReplayBufferOptions<T> {
  /** Most events kept; the oldest are evicted past it. */
  maxEvents: number;
  /**
   * Most bytes kept (as measured by `sizeOf`); the oldest events are evicted past it. The newest
   * event is always kept, even when it alone is larger.
   * @default Infinity
   */
  maxBytes?: number;
  /**
   * Size of one event in bytes, used only with `maxBytes`.
   * @default the UTF-8 length of `JSON.stringify(event)`
   */
  sizeOf?: (event: T) => number;
}

/** What {@link ReplayBuffer.since} found: the events, or the news that part of the range was evicted. */
export type ReplayRange<T> =
  | {
      /** Every requested event is still held. */
      readonly ok: true;
      /** Events with `seq ≥ fromSeq`, in order (empty when none was appended yet). */
      readonly events: T[];
    }
  | {
      /** Some requested events were evicted; replaying would silently skip them. */
      readonly ok: false;
      /** Why the range cannot be served. */
      readonly reason: 'evicted';
      /** The oldest seq still held: the earliest a subscription can start from. */
      readonly firstAvailableSeq: number;
    };

const INITIAL_CAPACITY = 16;

/**
 * A bounded, append-only log of one stream's events, kept for replay on resume. Events must arrive
 * with consecutive `seq`s; the oldest are evicted past `maxEvents` or `maxBytes`. Backed by a ring
 * buffer: `append` is O(1) amortised, `get` O(1), `since` O(k) for k events returned.
 *
 * @example
 * const log = new ReplayBuffer<StreamEvent>({ maxEvents: 10_000, maxBytes: 8 * 1024 * 1024 });
 * log.append(event);
 * const range = log.since(fromSeq);
 * if (!range.ok) sendStreamError('...evicted, oldest kept is ' + range.firstAvailableSeq);
 */
export class ReplayBuffer<T extends { seq: number }> {
  /** The bound on the number of events. */
  readonly maxEvents: number;
  /** The bound on total bytes (`Infinity` when unbounded). */
  readonly maxBytes: number;

  private readonly sizeOf: (event: T) => number;
  private slots: Array<T | undefined> = [];
  private sizes: number[] = [];
  private head = 0;
  private count = 0;
  private bytes = 0;
  /** The seq the next append must carry; undefined before the first. */
  private expectedSeq: number | undefined;
  /** Highest seq evicted so far (0 when none): evictions always take the oldest, so all below went too. */
  private evictedThroughSeq = 0;

  constructor(options: ReplayBufferOptions<T>) {
    const { maxEvents, maxBytes = Number.POSITIVE_INFINITY } = options;
    if (!Number.isSafeInteger(maxEvents) || maxEvents < 1) {
      throw new EnclaveError(
        'CONFIGURATION_ERROR',
        `maxEvents must be an integer ≥ 1, got ${String(maxEvents)}`,
      );
    }
    if (!(maxBytes > 0)) {
      throw new EnclaveError('CONFIGURATION_ERROR', `maxBytes must be > 0, got ${String(maxBytes)}`);
    }
    this.maxEvents = maxEvents;
    this.maxBytes = maxBytes;
    this.sizeOf = options.sizeOf ?? jsonByteLength;
  }

  /** Number of events held. */
  get size(): number {
    return this.count;
  }

  /** Total bytes held (0 unless `maxBytes` is set). */
  get byteSize(): number {
    return this.bytes;
  }

  /** Oldest seq held, or undefined when empty. */
  get firstSeq(): number | undefined {
    return this.count === 0 ? undefined : this.at(0).seq;
  }

  /** Newest seq held, or undefined when empty. */
  get lastSeq(): number | undefined {
    return this.count === 0 ? undefined : this.at(this.count - 1).seq;
  }

  /**
   * Appends the next event and evicts the oldest past the bounds. Throws `PROTOCOL_ERROR` unless
   * `event.seq` is one more than {@link lastSeq} (any positive seq is accepted first).
   */
  append(event: T): void {
    const seq = event.seq;
    if (this.expectedSeq === undefined) {
      if (!Number.isSafeInteger(seq) || seq < 1) {
        throw new EnclaveError('PROTOCOL_ERROR', `seq must be a positive integer, got ${String(seq)}`);
      }
    } else if (seq !== this.expectedSeq) {
      throw new EnclaveError(
        'PROTOCOL_ERROR',
        `Expected seq ${this.expectedSeq} in the replay buffer, got ${String(seq)}`,
      );
    }
    const size = this.maxBytes === Number.POSITIVE_INFINITY ? 0 : this.sizeOf(event);
    if (this.count === this.maxEvents) this.evictOldest();
    if (this.count === this.slots.length) this.grow();
    const index = (this.head + this.count) % this.slots.length;
    this.slots[index] = event;
    this.sizes[index] = size;
    this.count++;
    this.bytes += size;
    this.expectedSeq = seq + 1;
    while (this.bytes > this.maxBytes && this.count > 1) this.evictOldest();
  }

  /** The event with this seq, or undefined when it was evicted or not appended yet. */
  get(seq: number): T | undefined {
    const first = this.firstSeq;
    if (first === undefined || !Number.isInteger(seq)) return undefined;
    const offset = seq - first;
    return offset >= 0 && offset < this.count ? this.at(offset) : undefined;
  }

  /**
   * Every held event with `seq ≥ fromSeq`, oldest first; or `{ ok: false }` when an event in that
   * range was evicted. A `fromSeq` past {@link lastSeq} yields no events (they do not exist yet);
   * seqs before the first one ever appended were never part of this log and are not reported as
   * evicted. Throws `VALIDATION_ERROR` unless `fromSeq` is a positive integer.
   */
  since(fromSeq: number): ReplayRange<T> {
    if (!Number.isSafeInteger(fromSeq) || fromSeq < 1) {
      throw new EnclaveError(
        'VALIDATION_ERROR',
        `fromSeq must be a positive integer, got ${String(fromSeq)}`,
      );
    }
    if (fromSeq <= this.evictedThroughSeq) {
      return { ok: false, reason: 'evicted', firstAvailableSeq: this.evictedThroughSeq + 1 };
    }
    const first = this.firstSeq;
    const events: T[] = [];
    if (first === undefined) return { ok: true, events };
    for (let offset = Math.max(0, fromSeq - first); offset < this.count; offset++)
      events.push(this.at(offset));
    return { ok: true, events };
  }

  /** Drops every event; the next `append` may start at any seq. */
  clear(): void {
    this.slots = [];
    this.sizes = [];
    this.head = 0;
    this.count = 0;
    this.bytes = 0;
    this.expectedSeq = undefined;
    this.evictedThroughSeq = 0;
  }

  private at(offset: number): T {
    return this.slots[(this.head + offset) % this.slots.length] as T;
  }

  private evictOldest(): void {
    const event = this.slots[this.head] as T;
    this.bytes -= this.sizes[this.head] ?? 0;
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) % this.slots.length;
    this.count--;
    this.evictedThroughSeq = event.seq;
  }

  private grow(): void {
    const capacity = Math.min(this.maxEvents, Math.max(INITIAL_CAPACITY, this.slots.length * 2));
    const slots = new Array<T | undefined>(capacity);
    const sizes = new Array<number>(capacity);
    for (let offset = 0; offset < this.count; offset++) {
      const index = (this.head + offset) % this.slots.length;
      slots[offset] = this.slots[index];
      sizes[offset] = this.sizes[index] ?? 0;
    }
    this.slots = slots;
    this.sizes = sizes;
    this.head = 0;
  }
}

/** UTF-8 byte length of an event's JSON text, computed without encoding it. */
function jsonByteLength(event: unknown): number {
  const text = JSON.stringify(event) ?? '';
  let bytes = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff) {
      // A surrogate pair is one 4-byte character.
      bytes += 4;
      index++;
    } else bytes += 3;
  }
  return bytes;
}
