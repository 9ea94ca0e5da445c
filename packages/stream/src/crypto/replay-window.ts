/**
 * Remembers which sequence numbers were accepted, to reject a second use of any of them while
 * still accepting numbers that arrive out of order (as concurrent HTTP requests do). Numbers more
 * than `size` below the highest accepted one are refused as too old, which bounds the memory.
 */
export class ReplayWindow {
  private highest = 0;
  private readonly accepted = new Set<number>();

  constructor(private readonly size: number) {}

  /** Why `sequence` must be refused, or `undefined` when it is new and recent enough. */
  check(sequence: number): string | undefined {
    if (this.accepted.has(sequence)) return `counter ${sequence} was already opened (replay)`;
    if (sequence <= this.highest - this.size) {
      return `counter ${sequence} is too old: more than ${this.size} below the highest opened, ${this.highest}`;
    }
    return undefined;
  }

  /** Records an accepted sequence number. */
  accept(sequence: number): void {
    this.accepted.add(sequence);
    if (sequence > this.highest) this.highest = sequence;
    // Prune in batches so each accept stays O(1) on average.
    if (this.accepted.size > this.size * 2) {
      for (const old of this.accepted) {
        if (old <= this.highest - this.size) this.accepted.delete(old);
      }
    }
  }
}
