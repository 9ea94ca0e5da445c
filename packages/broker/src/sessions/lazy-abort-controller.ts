/**
 * The abort controller of one broker-answered tool call (`context.signal`), made only when the
 * tool reads the signal: most tools never do, and making a Node `AbortController` costs about 6 µs,
 * several percent of the broker's work on a call. An abort before the signal is read is kept, and
 * the signal is then made already aborted with the same reason, so a tool sees the same either way.
 */
export class LazyAbortController {
  private controller: AbortController | undefined;
  private abortedEarly = false;
  private earlyReason: unknown;

  /** The signal, made on first use (already aborted if {@link abort} came first). */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abortedEarly) this.controller.abort(this.earlyReason);
    }
    return this.controller.signal;
  }

  /** Whether {@link abort} was called. */
  get aborted(): boolean {
    return this.controller === undefined ? this.abortedEarly : this.controller.signal.aborted;
  }

  /** Aborts with `reason`; later calls change nothing, as with `AbortController`. */
  abort(reason: unknown): void {
    if (this.controller !== undefined) {
      this.controller.abort(reason);
      return;
    }
    if (this.abortedEarly) return;
    this.abortedEarly = true;
    this.earlyReason = reason;
  }
}
