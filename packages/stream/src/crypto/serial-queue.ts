/**
 * Runs asynchronous tasks one after another in the order they were added, whatever order their
 * awaits would finish in. A failing task does not stop the ones after it. When nothing is pending
 * a task starts at once, without waiting for a turn of the microtask queue.
 */
export class SerialQueue {
  private tail: Promise<void> | undefined;
  private pending = 0;
  private readonly settle = (): void => {
    this.pending--;
    if (this.pending === 0) this.tail = undefined;
  };

  /**
   * Runs `task` after every task added before it; resolves or rejects with its outcome. `task` must
   * report failure by rejecting (an `async` function does), not by throwing.
   */
  run<Result>(task: () => Promise<Result>): Promise<Result> {
    const result = this.tail === undefined ? task() : this.tail.then(task);
    this.pending++;
    this.tail = result.then(this.settle, this.settle);
    return result;
  }

  /** Resolves when every task added so far has settled. */
  async idle(): Promise<void> {
    await this.tail;
  }
}
