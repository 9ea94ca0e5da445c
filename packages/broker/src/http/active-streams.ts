/**
 * The event streams a broker app is serving (NDJSON responses and WebSocket subscriptions). Closing
 * the app stops them all, so that `close()` does not wait for running sessions to finish.
 */
export class ActiveStreams {
  private readonly controllers = new Set<AbortController>();

  /** Number of streams being served. */
  get size(): number {
    return this.controllers.size;
  }

  /** Registers a new stream; abort its signal to stop it, then call `release`. */
  open(): { signal: AbortSignal; stop: () => void; release: () => void } {
    const controller = new AbortController();
    this.controllers.add(controller);
    return {
      signal: controller.signal,
      stop: () => controller.abort(),
      release: () => this.controllers.delete(controller),
    };
  }

  /** Stops every stream. */
  stopAll(): void {
    for (const controller of this.controllers) controller.abort();
  }
}
