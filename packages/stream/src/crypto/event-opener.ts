import type { EnclaveError, EncryptedEvent, StreamEvent } from '@enclave-vm/types';
import { toEnclaveError } from '@enclave-vm/types';
import type { AdditionalData } from './additional-data.js';
import { isSequenceNumber } from './additional-data.js';
import { decodePayload, decryptionError, hasSyncAesGcm, openPayloadNow, startDecryption } from './encrypt.js';
import { encryptionError } from './encryption-error.js';
import { fromJsonBytes } from './json-plaintext.js';

/** What {@link EventOpener.openAll} made of a batch of sealed events. */
export interface OpenedEvents {
  /** The events opened, in order: every one of the batch, or those before the refused one. */
  events: StreamEvent[];
  /**
   * Why the event after the last opened one was refused (`ENCRYPTION_ERROR`). The events after it
   * were not opened: the cipher is as if they had never been offered.
   */
  failure?: EnclaveError;
}

/** The results of one {@link EventOpener.openAll} call, filled as its events are finished. */
interface Batch {
  readonly events: StreamEvent[];
  failure: EnclaveError | undefined;
  /** Jobs not finished yet. */
  remaining: number;
  readonly resolve: (opened: OpenedEvents) => void;
}

/** One sealed event on its way through the pipeline. */
interface Job {
  readonly encrypted: EncryptedEvent;
  readonly seq: number;
  /**
   * Offered while its seq was not after that of an event still being opened: whether it may be
   * opened depends on whether those fail, so it is checked again once every earlier job finished.
   */
  readonly recheck: boolean;
  /** `waiting` to start, `running` its AES-GCM, `settled` with `plaintext` or `error`. */
  state: 'waiting' | 'running' | 'settled';
  plaintext: Uint8Array | undefined;
  error: unknown;
  readonly batch: Batch | undefined;
  readonly resolve: ((event: StreamEvent) => void) | undefined;
  readonly reject: ((error: unknown) => void) | undefined;
  next: Job | undefined;
}

/**
 * Opens sealed stream events with many AES-GCM decryptions in flight at once, while every result
 * is exactly what opening them one at a time, in call order, would give:
 *
 * - The seq check runs synchronously when an event is offered, against the highest seq of the
 *   events ahead of it (opened or still opening). An event that passes it would pass the one-at-a-
 *   time check too, so its decryption starts at once (up to `maxInFlight` at a time).
 * - An event whose seq is not after one still opening (a replay racing its original, say) waits
 *   until every event ahead of it finished, then is checked against the last one actually opened:
 *   if the one ahead failed authentication, it may still be accepted, as one at a time.
 * - Results are finished strictly in call order: `lastOpenedSeq` moves only then, so a refused
 *   event changes nothing and the next valid one is accepted.
 */
export class EventOpener {
  /** Seq of the newest event opened; 0 before the first. */
  lastOpenedSeq = 0;
  /** The highest seq that an unfinished job may still open; `lastOpenedSeq` when none is left. */
  private reservedSeq = 0;
  /** The oldest unfinished job, the newest, and the first not started yet. */
  private first: Job | undefined;
  private last: Job | undefined;
  private cursor: Job | undefined;
  private running = 0;

  constructor(
    private readonly key: CryptoKey,
    private readonly additionalData: AdditionalData,
    private readonly sessionId: string,
    /** At most this many decryptions run at once; the other jobs wait, holding only their event. */
    readonly maxInFlight: number,
  ) {}

  /** Opens one event; see the class for the order and checks. */
  open(encrypted: EncryptedEvent): Promise<StreamEvent> {
    return new Promise<StreamEvent>((resolve, reject) => {
      this.offer(encrypted, undefined, resolve, reject);
      this.advance();
    });
  }

  /**
   * Opens a batch of events, in order, with their decryptions overlapping. Never rejects: the first
   * refused event ends the batch with `failure`, and the events after it are not opened.
   */
  openAll(events: readonly EncryptedEvent[]): Promise<OpenedEvents> {
    if (events.length === 0) return Promise.resolve({ events: [] });
    if (hasSyncAesGcm && this.first === undefined) return Promise.resolve(this.openAllNow(events));
    return new Promise<OpenedEvents>((resolve) => {
      const batch: Batch = { events: [], failure: undefined, remaining: events.length, resolve };
      for (const encrypted of events) this.offer(encrypted, batch, undefined, undefined);
      this.advance();
    });
  }

  /**
   * {@link openAll} where AES-GCM is synchronous (node:crypto) and nothing else is being opened:
   * the events are opened one after the other, now, exactly as the pipeline would finish them.
   */
  private openAllNow(events: readonly EncryptedEvent[]): OpenedEvents {
    const opened: StreamEvent[] = [];
    for (let index = 0; index < events.length; index++) {
      const encrypted = events[index] as EncryptedEvent;
      try {
        const seq = this.checkNow(encrypted);
        const plaintext = openPayloadNow(this.key, encrypted.payload, this.additionalData.current(seq));
        if (plaintext === undefined) throw encryptionError(this.authenticationFailure(seq));
        opened.push(this.eventOf(encrypted, seq, plaintext));
        this.lastOpenedSeq = seq;
        this.reservedSeq = seq;
      } catch (error) {
        return { events: opened, failure: toEnclaveError(error, 'ENCRYPTION_ERROR') };
      }
    }
    return { events: opened };
  }

  /** The checks {@link offer} makes of an event when nothing is ahead of it; returns its seq. */
  private checkNow(encrypted: EncryptedEvent): number {
    const seq = (encrypted as { seq?: unknown } | null)?.seq;
    if (typeof encrypted !== 'object' || encrypted === null || encrypted.type !== 'encrypted') {
      throw encryptionError("openEvent expects an event of type 'encrypted'");
    }
    if (encrypted.sessionId !== this.sessionId) {
      throw encryptionError(
        `The event belongs to session ${JSON.stringify(encrypted.sessionId)}, but this cipher is bound to session ${JSON.stringify(this.sessionId)}`,
      );
    }
    if (!isSequenceNumber(seq))
      throw encryptionError(`An event seq must be a positive integer, got ${String(seq)}`);
    if (seq <= this.lastOpenedSeq) throw this.replayError(seq);
    return seq;
  }

  private offer(
    encrypted: EncryptedEvent,
    batch: Batch | undefined,
    resolve: ((event: StreamEvent) => void) | undefined,
    reject: ((error: unknown) => void) | undefined,
  ): void {
    let error: unknown;
    let recheck = false;
    const seq = (encrypted as { seq?: unknown } | null)?.seq;
    if (typeof encrypted !== 'object' || encrypted === null || encrypted.type !== 'encrypted') {
      error = encryptionError("openEvent expects an event of type 'encrypted'");
    } else if (encrypted.sessionId !== this.sessionId) {
      error = encryptionError(
        `The event belongs to session ${JSON.stringify(encrypted.sessionId)}, but this cipher is bound to session ${JSON.stringify(this.sessionId)}`,
      );
    } else if (!isSequenceNumber(seq)) {
      error = encryptionError(`An event seq must be a positive integer, got ${String(seq)}`);
    } else if (this.first === undefined) {
      if (seq <= this.lastOpenedSeq) error = this.replayError(seq);
      else this.reservedSeq = seq;
    } else if (seq > this.reservedSeq) {
      this.reservedSeq = seq;
    } else {
      recheck = true;
    }
    const job: Job = {
      encrypted,
      seq: typeof seq === 'number' ? seq : 0,
      recheck,
      state: error === undefined ? 'waiting' : 'settled',
      plaintext: undefined,
      error,
      batch,
      resolve,
      reject,
      next: undefined,
    };
    if (this.last === undefined) this.first = job;
    else this.last.next = job;
    this.last = job;
    this.cursor ??= job;
  }

  /** Finishes what can be finished in order and starts what may start, until neither can move. */
  private advance(): void {
    for (;;) {
      this.finishSettled();
      if (!this.startWaiting()) return;
    }
  }

  /**
   * Starts decryptions from the cursor on while slots are free. Returns true when it settled a job
   * without starting it (a refused recheck, a cancelled batch member), which may let more finish.
   */
  private startWaiting(): boolean {
    let settledAny = false;
    while (this.running < this.maxInFlight && this.cursor !== undefined) {
      const job = this.cursor;
      if (job.state !== 'waiting') {
        this.cursor = job.next;
        continue;
      }
      if (job.batch?.failure !== undefined) {
        // An earlier event of its batch was refused: this one is left unopened.
        job.state = 'settled';
        settledAny = true;
        this.cursor = job.next;
        continue;
      }
      if (job.recheck) {
        // Only once every job ahead of it finished is `lastOpenedSeq` the one it must follow.
        if (job !== this.first) break;
        if (job.seq <= this.lastOpenedSeq) {
          job.state = 'settled';
          job.error = this.replayError(job.seq);
          settledAny = true;
          this.cursor = job.next;
          continue;
        }
      }
      this.cursor = job.next;
      if (this.start(job)) settledAny = true;
    }
    return settledAny;
  }

  /**
   * Starts one decryption; true when the job settled at once (its payload is malformed, or AES-GCM
   * runs synchronously here: node:crypto in the Node build).
   */
  private start(job: Job): boolean {
    if (hasSyncAesGcm) {
      try {
        job.plaintext = openPayloadNow(this.key, job.encrypted.payload, this.additionalData.current(job.seq));
        if (job.plaintext === undefined) job.error = encryptionError(this.authenticationFailure(job.seq));
      } catch (error) {
        job.error = error;
      }
      job.state = 'settled';
      return true;
    }
    let decryption: Promise<ArrayBuffer>;
    try {
      decryption = startDecryption(
        this.key,
        decodePayload(job.encrypted.payload),
        this.additionalData.for(job.seq),
      );
    } catch (error) {
      job.state = 'settled';
      job.error = error;
      return true;
    }
    job.state = 'running';
    this.running++;
    decryption.then(
      (plaintext) => {
        job.plaintext = new Uint8Array(plaintext);
        this.settle(job);
      },
      (error: unknown) => {
        job.error = decryptionError(error, this.authenticationFailure(job.seq));
        this.settle(job);
      },
    );
    return false;
  }

  private authenticationFailure(seq: number): string {
    return (
      `Event seq ${seq} of session ${this.sessionId} failed authentication: it was changed in transit, ` +
      'or sealed with another key or for another session, seq or direction'
    );
  }

  private settle(job: Job): void {
    job.state = 'settled';
    this.running--;
    this.advance();
  }

  /** Finishes settled jobs from the oldest on, in call order, stopping at the first unsettled one. */
  private finishSettled(): void {
    let job = this.first;
    while (job !== undefined && job.state === 'settled') {
      this.finish(job);
      job = job.next;
    }
    this.first = job;
    if (job === undefined) {
      this.last = undefined;
      this.cursor = undefined;
      this.reservedSeq = this.lastOpenedSeq;
    }
  }

  private finish(job: Job): void {
    const batch = job.batch;
    if (batch?.failure !== undefined) {
      // Left unopened because an earlier event of its batch was refused: nothing changes.
      this.finishBatchMember(batch);
      return;
    }
    let error = job.error;
    let event: StreamEvent | undefined;
    if (error === undefined) {
      try {
        event = this.toEvent(job);
      } catch (thrown) {
        error = thrown;
      }
    }
    // Release the bytes now: a finished job may stay reachable until the jobs after it finish.
    job.plaintext = undefined;
    if (event !== undefined) {
      this.lastOpenedSeq = job.seq;
      if (batch === undefined) job.resolve?.(event);
      else {
        batch.events.push(event);
        this.finishBatchMember(batch);
      }
      return;
    }
    if (batch === undefined) job.reject?.(error);
    else {
      batch.failure = toEnclaveError(error, 'ENCRYPTION_ERROR');
      this.finishBatchMember(batch);
    }
  }

  private finishBatchMember(batch: Batch): void {
    batch.remaining--;
    if (batch.remaining > 0) return;
    batch.resolve(
      batch.failure === undefined
        ? { events: batch.events }
        : { events: batch.events, failure: batch.failure },
    );
  }

  private toEvent(job: Job): StreamEvent {
    return this.eventOf(job.encrypted, job.seq, job.plaintext as Uint8Array);
  }

  private eventOf(encrypted: EncryptedEvent, seq: number, plaintext: Uint8Array): StreamEvent {
    const inner = fromJsonBytes(plaintext, 'event') as {
      type?: unknown;
      payload?: unknown;
    } | null;
    if (
      typeof inner !== 'object' ||
      inner === null ||
      typeof inner.type !== 'string' ||
      inner.type === 'encrypted'
    ) {
      throw encryptionError(`The decrypted event seq ${seq} is not { type, payload }`);
    }
    return {
      protocolVersion: encrypted.protocolVersion,
      sessionId: encrypted.sessionId,
      seq,
      ts: encrypted.ts,
      type: inner.type,
      payload: inner.payload,
    } as StreamEvent;
  }

  private replayError(seq: number): EnclaveError {
    return encryptionError(
      `Event seq ${seq} is not after the last opened event (seq ${this.lastOpenedSeq}): it is replayed or out of order. ` +
        'Drop events already received (by seq) before opening, as a resume replays them',
    );
  }
}
