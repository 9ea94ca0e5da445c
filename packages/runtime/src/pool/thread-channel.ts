import { performance } from 'node:perf_hooks';
import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads';

/** One field of a {@link ChannelFrame}: text or a number. */
export type ChannelField = string | number;

/** What crosses the channel in one piece: a flat list of strings and numbers. */
export type ChannelFrame = ChannelField[];

/** Which end of the channel: the pool (the caller's thread) or the sandbox thread. */
export type ChannelSide = 'pool' | 'thread';

/**
 * Bytes of each direction's ring. A frame larger than a quarter of it (a large tool result, a
 * batch of long output) goes through the message port instead, in its turn.
 */
export const RING_BYTES = 512 * 1024;

/** Words of the header, before the two rings. */
const HEADER_WORDS = 16;
const HEADER_BYTES = HEADER_WORDS * 4;
/** Frames sent so far, per direction (0: pool → thread, 1: thread → pool); the word each consumer waits on. */
const SENT = [0, 1] as const;
/** Bytes written into each direction's ring so far (mod 2^32). */
const WRITTEN = [2, 3] as const;
/** Bytes read from each direction's ring so far (mod 2^32). */
const READ = [4, 5] as const;
/** Pool frames the thread has handled: a thread that has not handled what it was sent is busy. */
const HANDLED = 6;
/**
 * Per direction: 1 while its receiver polls for the next frame ({@link ThreadChannel.poll}), so the
 * sender leaves out the wake-up.
 */
const POLLING = [7, 8] as const;
/** Sessions the thread holds parked right now: a gauge the thread writes and the pool reads. */
const PARKED = 9;
/** Marks the end of a ring's used part: the next frame starts at the ring's beginning. */
const WRAP = -1;
/** Tag of a number field (a string field's tag is its UTF-8 byte length). */
const NUMBER = -1;
/** Frame header: its size in bytes (4-aligned), its sequence number, its field count. */
const FRAME_HEADER_BYTES = 12;
const LARGEST_RING_FRAME = RING_BYTES / 4;

/** `Atomics.waitAsync` (ES2024; Node has it, the project's TypeScript library level does not declare it). */
interface AtomicsWithWaitAsync {
  waitAsync(
    array: Int32Array,
    index: number,
    value: number,
  ): { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
}

/**
 * Creates the shared memory of one pool thread's channel: a header and one ring of bytes per
 * direction. It is shared by the pool and the thread's host code only: no guest ever sees it.
 */
export function createChannelMemory(): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + 2 * RING_BYTES);
}

/**
 * One end of the channel between the pool and one of its sandbox threads, over shared memory
 * (`SharedArrayBuffer` + `Atomics`): frames go into a ring of bytes and the receiver is woken with
 * `Atomics.notify`, so a frame costs no message-port hop. A thread that has nothing to do but wait
 * for its guests' tool results blocks in `Atomics.wait` and wakes as soon as a frame is written; the
 * pool, which must never block, waits with `Atomics.waitAsync`.
 *
 * Every frame has a sequence number. A frame too large for the ring, or one that finds the ring
 * full, goes through the message port instead, and the receiver takes frames strictly in sequence:
 * when the next one is not in the ring it is already in the port's queue (a message is queued when
 * `postMessage` returns), and is read with `receiveMessageOnPort`. Nobody listens on that port.
 */
export class ThreadChannel {
  private readonly words: Int32Array;
  private readonly bytes: Buffer;
  private readonly view: DataView;
  private readonly out: 0 | 1;
  private readonly in: 0 | 1;
  private readonly outRing: number;
  private readonly inRing: number;
  private readonly port: MessagePort;
  private sent = 0;
  private received = 0;
  private handled = 0;
  /** Ring frames the receiver reads next come from here, in order (frames read ahead of a port frame). */
  private readonly early: { seq: number; frame: ChannelFrame }[] = [];

  constructor(memory: SharedArrayBuffer, side: ChannelSide, port: MessagePort) {
    this.words = new Int32Array(memory, 0, HEADER_WORDS);
    this.bytes = Buffer.from(memory);
    this.view = new DataView(memory);
    this.out = side === 'pool' ? 0 : 1;
    this.in = side === 'pool' ? 1 : 0;
    this.outRing = HEADER_BYTES + this.out * RING_BYTES;
    this.inRing = HEADER_BYTES + this.in * RING_BYTES;
    this.port = port;
  }

  /** Frames sent on this end so far. */
  get sentCount(): number {
    return this.sent;
  }

  /** Pool side: how many of its frames the thread has handled. */
  get handledByThread(): number {
    return Atomics.load(this.words, HANDLED);
  }

  /** Thread side: records that one more pool frame was handled (the pool reads it to tell a busy thread). */
  acknowledge(): void {
    this.handled += 1;
    Atomics.store(this.words, HANDLED, this.handled);
  }

  /** Pool side: how many sessions the thread holds parked (see `parkAfterMs`). */
  get parkedOnThread(): number {
    return Atomics.load(this.words, PARKED);
  }

  /** Thread side: publishes how many sessions this thread holds parked. */
  reportParked(count: number): void {
    Atomics.store(this.words, PARKED, count);
  }

  /** Whether a frame is waiting to be received. */
  get hasIncoming(): boolean {
    return this.received !== Atomics.load(this.words, SENT[this.in]);
  }

  /** Sends a frame and wakes the other end. */
  send(frame: ChannelFrame): void {
    const seq = (this.sent + 1) | 0;
    if (!this.writeToRing(seq, frame)) this.port.postMessage([seq, frame]);
    this.sent = seq;
    Atomics.store(this.words, SENT[this.out], seq);
    // A receiver that polls sees the new count by itself: waking it would cost more than the frame.
    if (Atomics.load(this.words, POLLING[this.out]) === 1) return;
    // Every waiter: the other end may wait synchronously and asynchronously on the same word.
    Atomics.notify(this.words, SENT[this.out]);
  }

  /**
   * Watches for the next frame for at most `windowMs` without sleeping, and says whether one has
   * arrived. Meanwhile the sender does not wake this end: a wake-up through the kernel costs each
   * side more CPU than a short poll (see `bench/runtime.bench.ts`), and the receiver learns of the
   * frame within a microsecond instead of after the scheduler has run it again.
   */
  poll(windowMs: number): boolean {
    if (this.hasIncoming) return true;
    const polling = POLLING[this.in];
    Atomics.store(this.words, polling, 1);
    const end = performance.now() + windowMs;
    while (!this.hasIncoming && performance.now() < end) {
      // Polls the sequence word until the window ends.
    }
    Atomics.store(this.words, polling, 0);
    // Read after the flag is down: a sender that saw the flag up (and left out the wake-up) had
    // published its frame before, so the frame is seen here.
    return this.hasIncoming;
  }

  /** The next frame from the other end, or `undefined` when there is none now. */
  receive(): ChannelFrame | undefined {
    if (this.received === Atomics.load(this.words, SENT[this.in])) return undefined;
    const next = (this.received + 1) | 0;
    let frame: ChannelFrame | undefined;
    const early = this.early[0];
    if (early !== undefined) {
      // The earliest ring frame not taken yet is ahead: the frames before it went through the port.
      if (early.seq === next) {
        this.early.shift();
        frame = early.frame;
      } else frame = this.readFromPort(next);
    } else {
      frame = this.readFromRing(next);
      if (frame === undefined) frame = this.readFromPort(next);
    }
    this.received = next;
    return frame;
  }

  /**
   * Blocks this thread until a frame arrives or `timeoutMs` passes; returns at once when one is
   * already waiting. Only the sandbox thread calls it (the pool's thread must never block).
   */
  waitSync(timeoutMs: number): boolean {
    const result = Atomics.wait(this.words, SENT[this.in], this.received, timeoutMs);
    return result !== 'timed-out';
  }

  /**
   * A promise that resolves when a frame has arrived (or at once, when one is waiting): the
   * receiving side's wake-up while its event loop runs. Make one at a time.
   */
  waitAsync(): Promise<unknown> {
    const result = (Atomics as unknown as AtomicsWithWaitAsync).waitAsync(
      this.words,
      SENT[this.in],
      this.received,
    );
    return result.async ? result.value : Promise.resolve();
  }

  /** Wakes every waiter on this end's incoming word (so that a pending `waitAsync` settles when the end is closed). */
  wakeSelf(): void {
    Atomics.notify(this.words, SENT[this.in]);
  }

  private writeToRing(seq: number, frame: ChannelFrame): boolean {
    let size = FRAME_HEADER_BYTES;
    for (let index = 0; index < frame.length; index++) {
      const field = frame[index] as ChannelField;
      size += typeof field === 'number' ? 12 : 4 + ((Buffer.byteLength(field, 'utf8') + 3) & ~3);
      if (size > LARGEST_RING_FRAME) return false;
    }
    const words = this.words;
    const written = Atomics.load(words, WRITTEN[this.out]);
    const read = Atomics.load(words, READ[this.out]);
    const position = written & (RING_BYTES - 1);
    const tail = RING_BYTES - position;
    // A frame is never split: when the tail is too short it is skipped (a wrap marker says so).
    const needed = tail < size ? tail + size : size;
    if (((written - read) >>> 0) + needed > RING_BYTES) return false;
    let at = this.outRing + position;
    if (tail < size) {
      this.view.setInt32(at, WRAP, true);
      at = this.outRing;
    }
    const view = this.view;
    view.setInt32(at, size, true);
    view.setInt32(at + 4, seq, true);
    view.setInt32(at + 8, frame.length, true);
    let offset = at + FRAME_HEADER_BYTES;
    for (let index = 0; index < frame.length; index++) {
      const field = frame[index] as ChannelField;
      if (typeof field === 'number') {
        view.setInt32(offset, NUMBER, true);
        view.setFloat64(offset + 4, field, true);
        offset += 12;
      } else {
        // Room was checked above; the public `write` bounds-checks (Node 24 rejects a length past the end).
        const length = this.bytes.write(field, offset + 4, 'utf8');
        view.setInt32(offset, length, true);
        offset += 4 + ((length + 3) & ~3);
      }
    }
    // Published after the bytes: the reader that sees the new count sees the frame.
    Atomics.store(words, WRITTEN[this.out], (written + needed) | 0);
    return true;
  }

  /** The frame `seq` if it is the next one in the ring (else frames read ahead wait in `early`). */
  private readFromRing(seq: number): ChannelFrame | undefined {
    const words = this.words;
    const view = this.view;
    const read = Atomics.load(words, READ[this.in]);
    if (read === Atomics.load(words, WRITTEN[this.in])) return undefined;
    let position = read & (RING_BYTES - 1);
    let skipped = 0;
    if (view.getInt32(this.inRing + position, true) === WRAP) {
      skipped = RING_BYTES - position;
      position = 0;
    }
    const at = this.inRing + position;
    const size = view.getInt32(at, true);
    const frameSeq = view.getInt32(at + 4, true);
    const count = view.getInt32(at + 8, true);
    const frame: ChannelFrame = new Array(count);
    let offset = at + FRAME_HEADER_BYTES;
    for (let index = 0; index < count; index++) {
      const tag = view.getInt32(offset, true);
      if (tag === NUMBER) {
        frame[index] = view.getFloat64(offset + 4, true);
        offset += 12;
      } else {
        frame[index] = this.bytes.toString('utf8', offset + 4, offset + 4 + tag);
        offset += 4 + ((tag + 3) & ~3);
      }
    }
    // The space is free for the writer once the frame has been copied out.
    Atomics.store(words, READ[this.in], (read + skipped + size) | 0);
    if (frameSeq === seq) return frame;
    // A later frame: the one wanted went through the port.
    this.early.push({ seq: frameSeq, frame });
    return undefined;
  }

  private readFromPort(seq: number): ChannelFrame {
    for (;;) {
      const message = receiveMessageOnPort(this.port);
      if (message === undefined) {
        throw new Error(`Frame ${seq} of the sandbox thread channel is missing`);
      }
      const [frameSeq, frame] = message.message as [number, ChannelFrame];
      if (frameSeq === seq) return frame;
    }
  }
}
