import type { ResumableOpen } from '@enclave-vm/stream';

/**
 * Where a session's events come from, for the client's resumable reader: `open` starts one
 * connection from a seq (the reader calls it again after each drop), and `adopt` takes the answer of
 * `POST /execute`, which a source either reads first (HTTP) or closes (WebSocket).
 */
export interface EventSource {
  /** Opens a connection that delivers the session's events from `fromSeq` on, as received lines. */
  readonly open: ResumableOpen<unknown>;
  /**
   * Takes the open answer of `POST /execute`.
   * @param filtered whether the broker filters that answer (skipped seqs are then expected).
   */
  adopt(response: Response, filtered: boolean): Promise<void>;
}

/** What a source needs to know of its session. */
export interface EventSourceContext {
  /** The session id, once known (from `x-session-id` or the first event). */
  sessionId: () => string | undefined;
  /** Whether the session is encrypted: its events are then read ahead while a batch is opened. */
  encrypted: boolean;
}
