/**
 * At most `limit` operations at a time; the others wait their turn in call order. Taking a free slot
 * costs no promise, so an operation below the limit starts in the same turn it was asked for.
 */
export class ConcurrencyLimit {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private waitingHead = 0;

  constructor(readonly limit: number) {}

  /** Operations holding a slot now. */
  get active(): number {
    return this.running;
  }

  /**
   * Takes a slot: `undefined` when one was free (it is taken), otherwise a promise that resolves
   * once a slot was handed over. Every acquisition must be followed by one {@link release}.
   */
  acquire(): Promise<void> | undefined {
    if (this.running < this.limit) {
      this.running++;
      return undefined;
    }
    return new Promise<void>((resolve) => {
      this.waiting.push(resolve);
    });
  }

  /** Gives a slot back, to the longest-waiting operation when there is one. */
  release(): void {
    if (this.waitingHead < this.waiting.length) {
      const next = this.waiting[this.waitingHead]!;
      this.waitingHead++;
      if (this.waitingHead === this.waiting.length) {
        this.waiting.length = 0;
        this.waitingHead = 0;
      } else if (this.waitingHead >= 1024 && this.waitingHead * 2 >= this.waiting.length) {
        // A backlog that never drains must not keep every resolver it ever held.
        this.waiting.splice(0, this.waitingHead);
        this.waitingHead = 0;
      }
      // The slot passes straight to the waiter: `running` stays the same.
      next();
      return;
    }
    this.running--;
  }
}
