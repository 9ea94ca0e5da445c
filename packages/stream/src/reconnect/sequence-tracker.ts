import { EnclaveError } from '@enclave-vm/types';

/** The smallest shape of an event that can be ordered: a positive integer `seq` and a `type`. */
export interface SequencedMessage {
  /** Position in the session's stream, from 1. */
  seq: number;
  /** Event type; `final` ends the stream. */
  type: string;
}

/** How a received `seq` relates to what was delivered: the next one, one already seen, or one past a hole. */
export type SequenceCheck = 'next' | 'duplicate' | 'gap';

/**
 * Tracks the last delivered `seq` of one session's event stream (seq starts at 1 and increases by
 * one per event), so that a consumer delivers each event exactly once and in order.
 *
 * @example
 * const tracker = new SequenceTracker();
 * if (tracker.check(event.seq) === 'next') { tracker.advance(event.seq); deliver(event); }
 */
export class SequenceTracker {
  private last: number;

  /**
   * @param lastSeq the last seq already delivered; 0 when nothing was.
   * @default 0
   */
  constructor(lastSeq = 0) {
    assertSeq(lastSeq, 0, 'lastSeq');
    this.last = lastSeq;
  }

  /** The last delivered seq (0 before the first). */
  get lastSeq(): number {
    return this.last;
  }

  /** The seq expected next: where a resumed subscription starts (`fromSeq`). */
  get nextSeq(): number {
    return this.last + 1;
  }

  /**
   * Classifies a received seq: `next` (deliver it), `duplicate` (already delivered, drop it) or
   * `gap` (events between were missed). Throws `PROTOCOL_ERROR` for a seq that is not a positive
   * integer.
   */
  check(seq: number): SequenceCheck {
    assertSeq(seq, 1, 'seq');
    if (seq <= this.last) return 'duplicate';
    return seq === this.last + 1 ? 'next' : 'gap';
  }

  /** Records `seq` as delivered. Throws `PROTOCOL_ERROR` unless it is {@link nextSeq}. */
  advance(seq: number): void {
    if (this.check(seq) !== 'next') {
      throw new EnclaveError('PROTOCOL_ERROR', `Cannot advance to seq ${seq}: expected seq ${this.nextSeq}`);
    }
    this.last = seq;
  }

  /**
   * Records `seq` as delivered on a stream that skips seqs on purpose (the broker filters it): any
   * seq after the last one is accepted. Throws `PROTOCOL_ERROR` for one already delivered.
   */
  skipTo(seq: number): void {
    if (this.check(seq) === 'duplicate') {
      throw new EnclaveError(
        'PROTOCOL_ERROR',
        `Cannot skip back to seq ${seq}: seq ${this.last} was delivered`,
      );
    }
    this.last = seq;
  }
}

function assertSeq(value: number, minimum: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < minimum) {
    throw new EnclaveError('PROTOCOL_ERROR', `${name} must be an integer ≥ ${minimum}, got ${String(value)}`);
  }
}
