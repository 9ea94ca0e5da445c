import { ReplayBuffer } from '@enclave-vm/stream';
import { EnclaveError } from '@enclave-vm/types';
import { DEFAULT_MAX_EVENT_LOG_SIZE } from '../options/broker-settings.js';
import { DeadlineQueue } from './deadline-queue.js';
import type { LoggedEvent } from './logged-event.js';
import type { Session } from './session.js';
import {
  type AppendOptions,
  type AppendOutcome,
  type BrokerMembership,
  type BrokerReply,
  type BrokerRequest,
  type CreateSessionOptions,
  DEFAULT_EXPIRY_GRACE,
  type EventRange,
  type JoinOptions,
  type SessionFollower,
  type SessionStore,
  truncated,
} from './session-store.js';

/** Options of {@link InMemorySessionStore}. */
export interface InMemorySessionStoreOptions {
  /** Entries kept per session log; the oldest are dropped past it. @default 10000 */
  maxEventLogSize?: number;
  /** Ms after a session's `expiresAt` at which its record and log are removed. @default 60000 */
  expiryGrace?: number;
}

interface StoredSession {
  record: Session;
  readonly log: ReplayBuffer<LoggedEvent>;
  readonly followers: Set<Follow>;
}

/** One subscription: the follower and the last seq it was given. */
interface Follow {
  readonly follower: SessionFollower;
  deliveredSeq: number;
}

/** A broker that joined the store. */
interface Member {
  /** Epoch ms until which its lease holds. */
  deadline: number;
  readonly leaseMs: number;
  /** Undefined once it left. */
  onRequest: ((request: BrokerRequest) => Promise<BrokerReply>) | undefined;
}

function isActive(status: Session['status']): boolean {
  return status === 'pending' || status === 'running';
}

/**
 * The default {@link SessionStore}: records and bounded event logs ({@link ReplayBuffer}) held in
 * this process. Appends are applied at once and reach followers synchronously. Brokers of one
 * process may share an instance: requests between them are function calls (their plain-data
 * messages copied as a serializing store would), and their leases are kept with the local clock.
 */
export class InMemorySessionStore implements SessionStore {
  private readonly maxEventLogSize: number;
  /** Ms after a session's `expiresAt` at which its record and log are removed. */
  readonly expiryGrace: number;
  private readonly sessions = new Map<string, StoredSession>();
  private readonly removals: DeadlineQueue<string>;
  private readonly members = new Map<string, Member>();
  /** Active sessions by owner. */
  private readonly owned = new Map<string, Set<string>>();
  private active = 0;

  /** Throws `CONFIGURATION_ERROR` for a `maxEventLogSize` below 1 or a negative `expiryGrace`. */
  constructor(options: InMemorySessionStoreOptions = {}) {
    const maxEventLogSize = options.maxEventLogSize ?? DEFAULT_MAX_EVENT_LOG_SIZE;
    if (!Number.isSafeInteger(maxEventLogSize) || maxEventLogSize < 1) {
      throw new EnclaveError(
        'CONFIGURATION_ERROR',
        `maxEventLogSize must be an integer ≥ 1, got ${String(maxEventLogSize)}`,
      );
    }
    const expiryGrace = options.expiryGrace ?? DEFAULT_EXPIRY_GRACE;
    if (!Number.isSafeInteger(expiryGrace) || expiryGrace < 0) {
      throw new EnclaveError(
        'CONFIGURATION_ERROR',
        `expiryGrace must be an integer ≥ 0, got ${String(expiryGrace)}`,
      );
    }
    this.maxEventLogSize = maxEventLogSize;
    this.expiryGrace = expiryGrace;
    this.removals = new DeadlineQueue<string>({
      onDue: (sessionId, deadline) => {
        // A record created again under the same id would have a later deadline.
        const stored = this.sessions.get(sessionId);
        if (stored !== undefined && stored.record.expiresAt + this.expiryGrace <= deadline) {
          this.remove(sessionId, stored, 'expired');
        }
      },
    });
  }

  /** Sessions held (any status). */
  get size(): number {
    return this.sessions.size;
  }

  async open(): Promise<void> {}

  async createSession(session: Session, options: CreateSessionOptions): Promise<boolean> {
    if (this.sessions.has(session.id)) {
      throw new EnclaveError('INTERNAL_ERROR', `Session ${session.id} already exists`);
    }
    const counts = isActive(session.status);
    if (counts && this.active >= options.maxActive) return false;
    this.sessions.set(session.id, {
      record: copyRecord(session),
      log: new ReplayBuffer<LoggedEvent>({ maxEvents: this.maxEventLogSize }),
      followers: new Set(),
    });
    if (counts) {
      this.active++;
      if (session.owner !== undefined) this.ownedBy(session.owner).add(session.id);
    }
    this.removals.add(session.id, session.expiresAt + this.expiryGrace);
    return true;
  }

  async getSession(sessionId: string): Promise<Session | null> {
    const stored = this.sessions.get(sessionId);
    return stored === undefined ? null : copyRecord(stored.record);
  }

  async append(
    sessionId: string,
    entries: readonly LoggedEvent[],
    options: AppendOptions = {},
  ): Promise<AppendOutcome> {
    const stored = this.sessions.get(sessionId);
    if (stored === undefined) return 'missing';
    const record = stored.record;
    const last = entries.at(-1);
    if (last !== undefined && last.seq <= record.lastSeq) return 'duplicate';
    if (!isActive(record.status)) return 'ended';
    const first = entries[0];
    if (first !== undefined && first.seq !== record.lastSeq + 1) return 'conflict';
    for (const entry of entries) stored.log.append(entry);
    const changes = options.changes;
    if (changes !== undefined) {
      Object.assign(record, changes);
      if (!isActive(record.status)) this.ended(record);
    }
    if (last !== undefined) record.lastSeq = last.seq;
    for (const entry of entries) {
      for (const follow of stored.followers) deliver(follow, entry);
    }
    return 'appended';
  }

  async readEvents(sessionId: string, fromSeq: number): Promise<EventRange> {
    const stored = this.sessions.get(sessionId);
    if (stored === undefined) return { ok: true, entries: [] };
    const range = stored.log.since(fromSeq);
    return range.ok
      ? { ok: true, entries: range.events }
      : { ok: false, firstAvailableSeq: range.firstAvailableSeq };
  }

  async subscribe(sessionId: string, afterSeq: number, follower: SessionFollower): Promise<() => void> {
    const stored = this.sessions.get(sessionId);
    if (stored === undefined) {
      throw new EnclaveError('SESSION_NOT_FOUND', `No session ${sessionId}`);
    }
    const range = stored.log.since(afterSeq + 1);
    if (!range.ok) throw truncated(sessionId, range.firstAvailableSeq);
    const follow: Follow = { follower, deliveredSeq: afterSeq };
    // Entries logged since the caller read the log are handed over first, in the same turn as the
    // subscription starts, so none falls between the two.
    for (const entry of range.events) deliver(follow, entry);
    stored.followers.add(follow);
    return () => {
      stored.followers.delete(follow);
    };
  }

  async deleteSession(sessionId: string): Promise<void> {
    const stored = this.sessions.get(sessionId);
    if (stored !== undefined) this.remove(sessionId, stored, 'deleted');
  }

  async close(): Promise<void> {
    this.removals.close();
    for (const stored of this.sessions.values()) stored.followers.clear();
  }

  async join(brokerId: string, options: JoinOptions): Promise<BrokerMembership> {
    const member: Member = {
      deadline: Date.now() + options.leaseMs,
      leaseMs: options.leaseMs,
      onRequest: options.onRequest,
    };
    this.members.set(brokerId, member);
    return {
      brokerId,
      renew: async () => {
        member.deadline = Date.now() + member.leaseMs;
        if (member.onRequest !== undefined) this.members.set(brokerId, member);
      },
      request: (target, request, timeoutMs) => this.request(target, request, timeoutMs),
      leave: async () => {
        member.onRequest = undefined;
        member.deadline = 0;
        if (this.members.get(brokerId) === member && (this.owned.get(brokerId)?.size ?? 0) === 0) {
          this.members.delete(brokerId);
        }
      },
    };
  }

  async lostBrokers(): Promise<string[]> {
    const now = Date.now();
    const lost: string[] = [];
    for (const [brokerId, member] of this.members) if (member.deadline < now) lost.push(brokerId);
    return lost;
  }

  async sessionsOwnedBy(brokerId: string, limit: number): Promise<string[]> {
    return [...(this.owned.get(brokerId) ?? [])].slice(0, limit);
  }

  async forgetBroker(brokerId: string): Promise<boolean> {
    const member = this.members.get(brokerId);
    if (member !== undefined && member.deadline >= Date.now()) return false;
    if ((this.owned.get(brokerId)?.size ?? 0) > 0) return false;
    this.members.delete(brokerId);
    this.owned.delete(brokerId);
    return true;
  }

  private async request(target: string, request: BrokerRequest, timeoutMs: number): Promise<BrokerReply> {
    const onRequest = this.members.get(target)?.onRequest;
    if (onRequest === undefined) {
      throw new EnclaveError('BROKER_LOST', `Broker ${target} is not listening`);
    }
    let timer: NodeJS.Timeout | undefined;
    const silent = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(new EnclaveError('BROKER_LOST', `Broker ${target} did not answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      // Copied both ways, as a store that carries messages over the network would.
      const reply = await Promise.race([onRequest(copyJson(request)), silent]);
      return copyJson(reply);
    } finally {
      clearTimeout(timer);
    }
  }

  private ownedBy(brokerId: string): Set<string> {
    let sessions = this.owned.get(brokerId);
    if (sessions === undefined) {
      sessions = new Set();
      this.owned.set(brokerId, sessions);
    }
    return sessions;
  }

  /** A session stopped being active: it frees its slot and leaves its owner's set. */
  private ended(record: Session): void {
    this.active--;
    if (record.owner !== undefined) this.owned.get(record.owner)?.delete(record.id);
  }

  private remove(sessionId: string, stored: StoredSession, why: 'expired' | 'deleted'): void {
    if (isActive(stored.record.status)) this.ended(stored.record);
    this.sessions.delete(sessionId);
    const followers = [...stored.followers];
    stored.followers.clear();
    const error = new EnclaveError('SESSION_NOT_FOUND', `Session ${sessionId} was ${why}`);
    for (const follow of followers) {
      try {
        follow.follower.fail(error);
      } catch {
        // A failing follower must not keep the others from hearing of it.
      }
    }
  }
}

function deliver(follow: Follow, entry: LoggedEvent): void {
  if (entry.seq <= follow.deliveredSeq) return;
  follow.deliveredSeq = entry.seq;
  try {
    follow.follower.next(entry);
  } catch {
    // One failing follower must not keep the entry from the others or fail the append.
  }
}

function copyJson<Value>(value: Value): Value {
  return JSON.parse(JSON.stringify(value)) as Value;
}

function copyRecord(session: Session): Session {
  return {
    ...session,
    stats: { ...session.stats },
    pendingToolCalls: [...session.pendingToolCalls],
    ...(session.pendingApprovals === undefined ? {} : { pendingApprovals: [...session.pendingApprovals] }),
  };
}
