/** Options of {@link DeadlineQueue}. */
export interface DeadlineQueueOptions<Item> {
  /** Called with every item whose deadline has come, oldest deadline first. */
  onDue: (item: Item, deadline: number) => void;
  /**
   * Items due within this many ms after the earliest one are handled in the same wake-up, so that
   * thousands of deadlines cost a few timer wake-ups, not one each. @default 0
   */
  coalesceMs?: number;
  /** The clock, in epoch ms. @default Date.now */
  now?: () => number;
}

interface Entry<Item> {
  readonly item: Item;
  readonly deadline: number;
}

/**
 * Items with deadlines behind one timer. Deadlines that grow with time (a fixed timeout or interval
 * added to "now") append in O(1); the timer is armed for the earliest deadline only. Used for
 * session heartbeats and expiry, where thousands of sessions share one timer.
 */
export class DeadlineQueue<Item> {
  private entries: Entry<Item>[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerDeadline = Number.POSITIVE_INFINITY;
  private readonly onDue: (item: Item, deadline: number) => void;
  private readonly coalesceMs: number;
  private readonly now: () => number;
  private closed = false;

  constructor(options: DeadlineQueueOptions<Item>) {
    this.onDue = options.onDue;
    this.coalesceMs = options.coalesceMs ?? 0;
    // Read through a closure so that a clock replaced later (fake timers) is honoured.
    this.now = options.now ?? (() => Date.now());
  }

  /** Items waiting. */
  get size(): number {
    return this.entries.length - this.head;
  }

  /** Schedules `item` for `deadline` (epoch ms). */
  add(item: Item, deadline: number): void {
    if (this.closed) return;
    const entry = { item, deadline };
    const entries = this.entries;
    const last = entries[entries.length - 1];
    if (last === undefined || this.head === entries.length || last.deadline <= deadline) {
      entries.push(entry);
    } else {
      let low = this.head;
      let high = entries.length;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if ((entries[middle] as Entry<Item>).deadline <= deadline) low = middle + 1;
        else high = middle;
      }
      entries.splice(low, 0, entry);
    }
    this.arm();
  }

  /** Drops every item and stops the timer; later `add` calls are ignored. */
  close(): void {
    this.closed = true;
    this.entries = [];
    this.head = 0;
    this.disarm();
  }

  private arm(): void {
    const first = this.entries[this.head];
    if (first === undefined) {
      this.disarm();
      return;
    }
    if (this.timer !== undefined && this.timerDeadline <= first.deadline) return;
    this.disarm();
    this.timerDeadline = first.deadline;
    this.timer = setTimeout(() => this.fire(), Math.max(0, first.deadline - this.now()));
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDeadline = Number.POSITIVE_INFINITY;
  }

  private fire(): void {
    this.timer = undefined;
    this.timerDeadline = Number.POSITIVE_INFINITY;
    const limit = this.now() + this.coalesceMs;
    // Only items present at the wake-up are handled: one that onDue schedules within the limit waits
    // for the next wake-up, so a wake-up always ends.
    let budget = this.size;
    while (budget > 0 && this.head < this.entries.length && !this.closed) {
      budget--;
      const entry = this.entries[this.head] as Entry<Item>;
      if (entry.deadline > limit) break;
      this.head++;
      try {
        this.onDue(entry.item, entry.deadline);
      } catch {
        // A failing handler must not stop the other items or the timer.
      }
    }
    if (this.closed) return;
    if (this.head > 1024 && this.head * 2 >= this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    this.arm();
  }
}
