import { EnclaveError, type Logger } from '@enclave-vm/types';
import type { LoggedEvent } from './logged-event.js';
import type { AppendOutcome, SessionChanges, SessionStore } from './session-store.js';

/** Why a {@link SessionWriter} stopped writing: what the store answered, or a write that kept failing. */
export type WriterLoss = Exclude<AppendOutcome, 'appended' | 'duplicate'> | 'failed';

/** Options of {@link SessionWriter}. */
export interface SessionWriterOptions {
  store: SessionStore;
  sessionId: string;
  logger: Logger;
  /** Until when (epoch ms) a write the store throws on is tried again. */
  retryUntil: number;
  /**
   * Called once when the store refuses a write (the session was ended or removed by someone else)
   * or a write kept failing: nothing more is written.
   */
  onLost: (loss: WriterLoss) => void;
  /**
   * Encrypted sessions: prepares the sealed `error` + `final` another broker logs after `lastSeq` if
   * this one is lost. Each write that moves the log on stores a fresh pair with it (`sealedEnding`).
   */
  ending?: (lastSeq: number) => Promise<LoggedEvent[]>;
  /** Called with the entries of each stored batch, in order, once the store holds them. */
  onStored?: (entries: readonly LoggedEvent[]) => void;
  /**
   * Called when a write has waited `stallMs` for the store (Redis unreachable: the write waits for
   * it and is applied once it is back). Called once per stalled write.
   */
  onStalled?: () => void;
  /** Ms after which a write waiting for the store counts as stalled. @default 5000 */
  stallMs?: number;
}

interface PendingWrite {
  readonly entry: LoggedEvent | Promise<LoggedEvent> | undefined;
  readonly changes: SessionChanges | undefined;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Default of {@link SessionWriterOptions.stallMs}. */
const DEFAULT_STALL_MS = 5_000;
/** Most writes (entries) in one batch; more wait for the next. */
const MAX_BATCH_WRITES = 2_000;
/** Most entries handed to the store in one append. */
const MAX_APPEND_ENTRIES = 500;
const FIRST_RETRY_DELAY_MS = 50;
const MAX_RETRY_DELAY_MS = 2_000;

/**
 * The one writer of a running session's log and record. Writes are applied in call order. A batch
 * goes to the store when the one before it is done, with every write queued meanwhile (the events of
 * one turn at least: a runtime message often carries many), so a store with round trips (Redis) gets
 * fewer, larger writes the faster events come. An entry may be a promise (a sealed event still being sealed): the
 * batch waits for it, keeping seq order.
 */
export class SessionWriter {
  private pending: PendingWrite[] = [];
  private scheduled = false;
  /** Whether a batch is being written. */
  private writing = false;
  private tail: Promise<void> = Promise.resolve();
  private lost: WriterLoss | undefined;
  /** Seq of the newest entry stored. */
  private writtenSeq = 0;
  /** The seq the stored sealed ending follows. */
  private endingAfter = 0;

  constructor(private readonly options: SessionWriterOptions) {}

  /** Why writing stopped, once it has. */
  get loss(): WriterLoss | undefined {
    return this.lost;
  }

  /**
   * Queues an entry (or none) and record changes; resolves once they are stored, rejects when the
   * store refused them or they could not be sealed.
   */
  write(entry: LoggedEvent | Promise<LoggedEvent> | undefined, changes?: SessionChanges): Promise<void> {
    if (this.lost !== undefined) return Promise.reject(lossError(this.options.sessionId, this.lost));
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ entry, changes, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(this.flush);
      }
    });
  }

  /** Resolves once every write queued so far has been stored or refused. */
  flushed(): Promise<void> {
    if (this.pending.length === 0) return this.tail;
    return this.write(undefined).catch(() => undefined);
  }

  /**
   * Group commit: a batch goes out when the one before it is done, with everything queued meanwhile,
   * so a slow store gets fewer, larger writes rather than a queue of small ones.
   */
  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.writing || this.pending.length === 0) return;
    // Bounded, so that one write never moves the log on by more than a reader on another broker
    // reads at once (and never by more than a small log holds).
    const batch =
      this.pending.length <= MAX_BATCH_WRITES ? this.pending : this.pending.slice(0, MAX_BATCH_WRITES);
    this.pending = batch === this.pending ? [] : this.pending.slice(MAX_BATCH_WRITES);
    this.writing = true;
    this.tail = this.writeBatch(batch).finally(() => {
      this.writing = false;
      this.flush();
    });
  };

  private async writeBatch(batch: readonly PendingWrite[]): Promise<void> {
    const onStalled = this.options.onStalled;
    if (onStalled === undefined) return this.writeBatchNow(batch);
    const timer = setTimeout(onStalled, this.options.stallMs ?? DEFAULT_STALL_MS);
    timer.unref();
    try {
      await this.writeBatchNow(batch);
    } finally {
      clearTimeout(timer);
    }
  }

  private async writeBatchNow(batch: readonly PendingWrite[]): Promise<void> {
    if (this.lost !== undefined) {
      for (const write of batch) write.reject(lossError(this.options.sessionId, this.lost));
      return;
    }
    let entries: LoggedEvent[];
    try {
      entries = await resolveEntries(batch);
    } catch (error) {
      this.options.logger.error('Could not seal a session event', {
        sessionId: this.options.sessionId,
        error: error instanceof Error ? error.message : String(error),
      });
      this.stop('failed', batch, error);
      return;
    }
    let changes: SessionChanges | undefined;
    for (const write of batch) {
      if (write.changes !== undefined)
        changes = changes === undefined ? { ...write.changes } : Object.assign(changes, write.changes);
    }
    if (entries.length === 0 && changes === undefined) {
      for (const write of batch) write.resolve();
      return;
    }
    const lastSeq = entries.at(-1)?.seq ?? this.writtenSeq;
    try {
      changes = await this.withEnding(changes, lastSeq);
    } catch (error) {
      this.options.logger.error('Could not seal the ending of a session', {
        sessionId: this.options.sessionId,
        error: error instanceof Error ? error.message : String(error),
      });
      this.stop('failed', batch, error);
      return;
    }
    const outcome = await this.appendChunks(entries, changes);
    if (outcome === 'appended' || outcome === 'duplicate') {
      this.writtenSeq = lastSeq;
      if (changes?.sealedEnding !== undefined) this.endingAfter = lastSeq;
      if (entries.length > 0) this.options.onStored?.(entries);
      for (const write of batch) write.resolve();
      return;
    }
    this.stop(outcome, batch, lossError(this.options.sessionId, outcome));
  }

  /** Adds a fresh sealed ending when the log moves on, and drops it when the session ends. */
  private async withEnding(
    changes: SessionChanges | undefined,
    lastSeq: number,
  ): Promise<SessionChanges | undefined> {
    const ending = this.options.ending;
    if (ending === undefined) return changes;
    const status = changes?.status;
    if (status === 'completed' || status === 'error') return { ...changes, sealedEnding: undefined };
    if (lastSeq === 0 || lastSeq === this.endingAfter) return changes;
    return { ...changes, sealedEnding: await ending(lastSeq) };
  }

  /**
   * A burst (a runtime message can carry thousands of events) goes to the store in bounded appends,
   * sent together: a store with one connection (Redis) applies them in order without a round trip
   * between them, and the record changes ride with the last. If one throws, they are sent again one
   * by one, with retries; those already applied come back as `duplicate`.
   */
  private async appendChunks(
    entries: readonly LoggedEvent[],
    changes: SessionChanges | undefined,
  ): Promise<AppendOutcome | 'failed'> {
    const chunks: (readonly LoggedEvent[])[] = [];
    for (let offset = 0; offset < entries.length; offset += MAX_APPEND_ENTRIES) {
      chunks.push(
        entries.length <= MAX_APPEND_ENTRIES ? entries : entries.slice(offset, offset + MAX_APPEND_ENTRIES),
      );
    }
    if (chunks.length === 0) chunks.push([]);
    const { store, sessionId } = this.options;
    const last = chunks.length - 1;
    const attempts = await Promise.all(
      chunks.map((chunk, index) =>
        store.append(sessionId, chunk, index === last && changes !== undefined ? { changes } : {}).then(
          (outcome) => outcome,
          () => 'threw' as const,
        ),
      ),
    );
    const outcomes = attempts.filter((outcome): outcome is AppendOutcome => outcome !== 'threw');
    if (outcomes.length === attempts.length)
      return outcomes.find((outcome) => !isStored(outcome)) ?? 'appended';
    let outcome: AppendOutcome | 'failed' = 'appended';
    for (let index = 0; index <= last && isStored(outcome); index++) {
      outcome = await this.appendWithRetry(
        chunks[index] as readonly LoggedEvent[],
        index === last ? changes : undefined,
      );
    }
    return outcome;
  }

  private async appendWithRetry(
    entries: readonly LoggedEvent[],
    changes: SessionChanges | undefined,
  ): Promise<AppendOutcome | 'failed'> {
    const { store, sessionId } = this.options;
    let delay = FIRST_RETRY_DELAY_MS;
    for (;;) {
      try {
        return await store.append(sessionId, entries, changes === undefined ? {} : { changes });
      } catch (error) {
        if (Date.now() + delay > this.options.retryUntil) return 'failed';
        this.options.logger.warn('Could not log session events; trying again', {
          sessionId,
          error: error instanceof Error ? error.message : String(error),
        });
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(MAX_RETRY_DELAY_MS, delay * 2);
      }
    }
  }

  private stop(loss: WriterLoss, batch: readonly PendingWrite[], error: unknown): void {
    const first = this.lost === undefined;
    this.lost ??= loss;
    for (const write of batch) write.reject(error);
    if (first) this.options.onLost(loss);
  }
}

function isStored(outcome: AppendOutcome | 'failed'): boolean {
  return outcome === 'appended' || outcome === 'duplicate';
}

async function resolveEntries(batch: readonly PendingWrite[]): Promise<LoggedEvent[]> {
  const entries: LoggedEvent[] = [];
  let sealing = false;
  for (const write of batch) {
    if (write.entry instanceof Promise) sealing = true;
  }
  if (!sealing) {
    for (const write of batch) if (write.entry !== undefined) entries.push(write.entry as LoggedEvent);
    return entries;
  }
  const settled = await Promise.all(batch.map((write) => write.entry));
  for (const entry of settled) if (entry !== undefined) entries.push(entry);
  return entries;
}

function lossError(sessionId: string, loss: WriterLoss): EnclaveError {
  switch (loss) {
    case 'ended':
      return new EnclaveError('SESSION_ENDED', `Session ${sessionId} was ended elsewhere`);
    case 'missing':
      return new EnclaveError('SESSION_NOT_FOUND', `Session ${sessionId} is no longer in the store`);
    case 'conflict':
      return new EnclaveError('INTERNAL_ERROR', `Another writer logged events of session ${sessionId}`);
    case 'failed':
      return new EnclaveError('INTERNAL_ERROR', `The events of session ${sessionId} could not be logged`);
  }
}
