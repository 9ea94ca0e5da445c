/** What the session made of a batch: keep reading, reconnect from the missing seq, or stop after `final`. */
export type BatchOutcome = 'continue' | 'gap' | 'final';

/**
 * Receives the lines of one read, in order.
 * @param filtered true when the broker filters this stream (skipped seqs are then expected).
 */
export type BatchHandler = (lines: unknown[], filtered: boolean) => Promise<BatchOutcome>;
