import { EnclaveError, type Logger } from '@enclave-vm/types';
import type { Redis } from 'ioredis';
import type { LoggedEvent } from '../sessions/logged-event.js';
import { type SessionFollower, truncated } from '../sessions/session-store.js';
import type { RedisKeys } from './redis-keys.js';
import { decodeEntry, type StreamEntry } from './redis-record-codec.js';

/** Entries read per stream and XREAD: as many as the busiest writer appends at once. */
const READ_COUNT = 2_000;
/** Ms an XREAD blocks; on timeout the followed sessions are checked for removal. */
const BLOCK_MS = 5_000;
const LOST = Symbol('lost');

/** Pause after a failed read before the next one. */
const RETRY_PAUSE_MS = 100;
/** The wake stream keeps this many entries, and lives this long after its last use. */
const WAKE_MAX_LEN = 8;
const WAKE_TTL_MS = 3_600_000;

/** One follower and the last seq it got. */
interface Follow {
  readonly follower: SessionFollower;
  deliveredSeq: number;
}

/** The followers of one session's log. */
interface Group {
  readonly sessionId: string;
  readonly logKey: string;
  readonly follows: Set<Follow>;
}

/**
 * Follows session logs for one store instance: a single loop on a dedicated connection issues one
 * `XREAD BLOCK` over every followed log (and a wake stream), from the oldest position any of its
 * followers still needs, and hands each follower the entries after its own position, in order and
 * once. A new follower needs no second mechanism for catching up: it joins the loop at its own
 * position (the loop is woken through the wake stream, so no follower waits for a timeout). When
 * the connection drops, every follower fails with `STORE_UNAVAILABLE` (its client resumes).
 */
export class RedisLogFollowers {
  private readonly groups = new Map<string, Group>();
  private readonly byKey = new Map<string, Group>();
  private wakeCursor = '0-0';
  private idle: (() => void) | undefined;
  private generation = 0;
  /** Resolves when the reader's connection closes: a read in flight then will never answer. */
  private connectionLost!: Promise<void>;
  private lost!: () => void;
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly reader: Redis,
    private readonly commands: Redis,
    private readonly keys: RedisKeys,
    private readonly wakeKey: string,
    private readonly logger: Logger,
  ) {
    this.armConnectionLost();
    // A lost connection loses the position of every follower: they fail and their clients resume.
    reader.on('close', () => {
      this.lost();
      if (this.groups.size === 0) return;
      this.generation++;
      this.failAll(new EnclaveError('STORE_UNAVAILABLE', 'The connection to Redis was lost'));
    });
  }

  /** Starts delivering to `follower` every entry with `seq > afterSeq`; returns the unsubscribe function. */
  follow(sessionId: string, afterSeq: number, follower: SessionFollower): () => void {
    if (this.closed) throw new EnclaveError('STORE_UNAVAILABLE', 'The session store is closed');
    let group = this.groups.get(sessionId);
    if (group === undefined) {
      group = { sessionId, logKey: this.keys.log(sessionId), follows: new Set() };
      this.groups.set(sessionId, group);
      this.byKey.set(group.logKey, group);
    }
    const follow: Follow = { follower, deliveredSeq: afterSeq };
    group.follows.add(follow);
    this.wake();
    const current = group;
    return () => {
      current.follows.delete(follow);
      if (current.follows.size === 0 && this.groups.get(sessionId) === current) this.drop(current);
    };
  }

  /** Fails every follower of a session (it was removed). */
  failSession(sessionId: string, error: EnclaveError): void {
    const group = this.groups.get(sessionId);
    if (group === undefined) return;
    this.drop(group);
    for (const follow of group.follows) notifyFailure(follow, error);
  }

  /** Stops the loop and drops its connection (a blocked XREAD would hold QUIT); followers fail. */
  async close(): Promise<void> {
    this.closed = true;
    this.failAll(new EnclaveError('STORE_UNAVAILABLE', 'The session store was closed'));
    this.idle?.();
    this.lost();
    this.reader.disconnect();
    await this.running?.catch(() => undefined);
  }

  private armConnectionLost(): void {
    this.connectionLost = new Promise((resolve) => {
      this.lost = () => {
        this.armConnectionLost();
        resolve();
      };
    });
  }

  private wake(): void {
    if (this.running === undefined) this.running = this.loop();
    const idle = this.idle;
    if (idle !== undefined) {
      this.idle = undefined;
      idle();
      return;
    }
    // The loop may be blocked in XREAD on the previous set of logs: an entry in the wake stream ends
    // the wait. Its id is above the loop's wake cursor whenever it lands, so no wake-up is lost.
    this.commands
      .xadd(this.wakeKey, 'MAXLEN', '~', WAKE_MAX_LEN, '*', 'w', '1')
      .then(() => this.commands.pexpire(this.wakeKey, WAKE_TTL_MS))
      .catch((error: unknown) => {
        this.logger.debug('Could not wake the Redis log reader', { error: errorMessage(error) });
      });
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      if (this.groups.size === 0) {
        await new Promise<void>((resolve) => {
          this.idle = resolve;
        });
        continue;
      }
      const generation = this.generation;
      const groups = [...this.groups.values()];
      const streamKeys = [this.wakeKey];
      const positions = [this.wakeCursor];
      for (const group of groups) {
        streamKeys.push(group.logKey);
        positions.push(`${oldestPosition(group)}-0`);
      }
      let reply: [string, StreamEntry[]][] | null;
      try {
        const read = this.reader.xread(
          'COUNT',
          READ_COUNT,
          'BLOCK',
          BLOCK_MS,
          'STREAMS',
          ...streamKeys,
          ...positions,
        );
        read.catch(() => undefined);
        // ioredis may drop a command that was in flight when its connection closed: stop waiting then.
        const outcome = await Promise.race([read, this.connectionLost.then(() => LOST)]);
        if (outcome === LOST) throw new Error('The connection to Redis was lost');
        reply = outcome as [string, StreamEntry[]][] | null;
      } catch (error) {
        if (this.closed) return;
        if (generation === this.generation) {
          this.generation++;
          this.failAll(
            new EnclaveError('STORE_UNAVAILABLE', `Reading session logs failed: ${errorMessage(error)}`),
          );
        }
        await this.readerReady();
        // A connection that gave up reconnecting is ready no more: do not spin on it.
        await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
        continue;
      }
      if (generation !== this.generation || this.closed) continue;
      if (reply === null) {
        await this.dropRemoved(groups);
        continue;
      }
      for (const [key, entries] of reply) {
        if (key === this.wakeKey) {
          const last = entries.at(-1);
          if (last !== undefined) this.wakeCursor = last[0];
          continue;
        }
        const group = this.byKey.get(key);
        if (group !== undefined) this.deliver(group, entries);
      }
    }
  }

  private deliver(group: Group, entries: readonly StreamEntry[]): void {
    let decoded: LoggedEvent[];
    try {
      decoded = entries.map(decodeEntry);
    } catch (error) {
      this.failSession(
        group.sessionId,
        new EnclaveError('INTERNAL_ERROR', `Unreadable log entry: ${errorMessage(error)}`),
      );
      return;
    }
    for (const follow of [...group.follows]) {
      for (const entry of decoded) {
        if (entry.seq <= follow.deliveredSeq) continue;
        if (entry.seq > follow.deliveredSeq + 1) {
          // The entries between were trimmed from the log before this follower got them.
          group.follows.delete(follow);
          notifyFailure(follow, truncated(group.sessionId, entry.seq));
          break;
        }
        follow.deliveredSeq = entry.seq;
        try {
          follow.follower.next(entry);
        } catch {
          // A failing follower must not keep the entry from the others.
        }
      }
    }
    if (group.follows.size === 0 && this.groups.get(group.sessionId) === group) this.drop(group);
  }

  /** After a quiet XREAD: followers of sessions that are gone (expired, lost) fail. */
  private async dropRemoved(groups: readonly Group[]): Promise<void> {
    let exists: number[];
    try {
      exists = await Promise.all(
        groups.map((group) => this.commands.exists(this.keys.session(group.sessionId))),
      );
    } catch {
      return;
    }
    groups.forEach((group, index) => {
      if (exists[index] === 0 && this.groups.get(group.sessionId) === group) {
        this.failSession(
          group.sessionId,
          new EnclaveError('SESSION_NOT_FOUND', `Session ${group.sessionId} is gone`),
        );
      }
    });
  }

  private readerReady(): Promise<void> {
    if (this.reader.status === 'ready' || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.reader.off('ready', done);
        this.reader.off('end', done);
        resolve();
      };
      this.reader.on('ready', done);
      this.reader.on('end', done);
    });
  }

  private drop(group: Group): void {
    this.groups.delete(group.sessionId);
    this.byKey.delete(group.logKey);
  }

  private failAll(error: EnclaveError): void {
    const groups = [...this.groups.values()];
    this.groups.clear();
    this.byKey.clear();
    for (const group of groups) for (const follow of group.follows) notifyFailure(follow, error);
  }
}

function oldestPosition(group: Group): number {
  let oldest = Number.POSITIVE_INFINITY;
  for (const follow of group.follows) oldest = Math.min(oldest, follow.deliveredSeq);
  return oldest === Number.POSITIVE_INFINITY ? 0 : oldest;
}

function notifyFailure(follow: Follow, error: EnclaveError): void {
  try {
    follow.follower.fail(error);
  } catch {
    // A failing follower must not keep the others from hearing of it.
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
