import { ReplayBuffer } from '@enclave-vm/stream';
import { EnclaveError, type StreamEvent } from '@enclave-vm/types';
import type { Session } from './session.js';
import type {
  CreateSessionOptions,
  EventRange,
  SessionChanges,
  SessionEventListener,
  SessionStore,
} from './session-store.js';

/** Options of {@link InMemorySessionStore}. */
export interface InMemorySessionStoreOptions {
  /** Events kept per session; the oldest are dropped past it. @default 10000 */
  maxEventLogSize?: number;
}

interface StoredSession {
  readonly session: Session;
  readonly log: ReplayBuffer<StreamEvent>;
}

interface ExpiryEntry {
  readonly sessionId: string;
  readonly expiresAt: number;
}

/** Default of {@link InMemorySessionStoreOptions.maxEventLogSize}. */
export const DEFAULT_MAX_EVENT_LOG_SIZE = 10_000;

/** Compact the expiry queue once this many dropped entries sit before its head. */
const COMPACT_AFTER = 1024;

function isActive(session: Session): boolean {
  return session.status === 'pending' || session.status === 'running';
}

/**
 * The default {@link SessionStore}: records, bounded event logs ({@link ReplayBuffer}) and live
 * listeners held in this process. Appending an event is O(1) and reaches listeners synchronously.
 */
export class InMemorySessionStore implements SessionStore {
  private readonly maxEventLogSize: number;
  private readonly sessions = new Map<string, StoredSession>();
  private readonly listeners = new Map<string, Set<SessionEventListener>>();
  /** Sessions ordered by `expiresAt` (appends are nearly always in order, since the timeout is fixed). */
  private expiryOrder: ExpiryEntry[] = [];
  private expiryHead = 0;
  private active = 0;

  constructor(options: InMemorySessionStoreOptions = {}) {
    const maxEventLogSize = options.maxEventLogSize ?? DEFAULT_MAX_EVENT_LOG_SIZE;
    if (!Number.isSafeInteger(maxEventLogSize) || maxEventLogSize < 1) {
      throw new EnclaveError(
        'CONFIGURATION_ERROR',
        `maxEventLogSize must be an integer ≥ 1, got ${String(maxEventLogSize)}`,
      );
    }
    this.maxEventLogSize = maxEventLogSize;
  }

  /** Sessions held (any status). */
  get size(): number {
    return this.sessions.size;
  }

  async createSession(session: Session, options: CreateSessionOptions): Promise<boolean> {
    if (this.sessions.has(session.id)) {
      throw new EnclaveError('INTERNAL_ERROR', `Session ${session.id} already exists`);
    }
    const counts = isActive(session);
    if (counts && this.active >= options.maxActive) return false;
    this.sessions.set(session.id, {
      session: { ...session },
      log: new ReplayBuffer<StreamEvent>({ maxEvents: this.maxEventLogSize }),
    });
    if (counts) this.active++;
    this.insertExpiry({ sessionId: session.id, expiresAt: session.expiresAt });
    return true;
  }

  async getSession(sessionId: string): Promise<Session | null> {
    const stored = this.sessions.get(sessionId);
    return stored === undefined ? null : snapshot(stored);
  }

  async updateSession(sessionId: string, changes: SessionChanges): Promise<Session | null> {
    const stored = this.sessions.get(sessionId);
    if (stored === undefined) return null;
    const wasActive = isActive(stored.session);
    Object.assign(stored.session, changes);
    const nowActive = isActive(stored.session);
    if (wasActive !== nowActive) this.active += nowActive ? 1 : -1;
    return snapshot(stored);
  }

  async deleteSession(sessionId: string): Promise<void> {
    const stored = this.sessions.get(sessionId);
    if (stored === undefined) return;
    if (isActive(stored.session)) this.active--;
    this.sessions.delete(sessionId);
    this.listeners.delete(sessionId);
  }

  async appendEvent(event: StreamEvent): Promise<void> {
    const stored = this.sessions.get(event.sessionId);
    if (stored === undefined) return;
    stored.log.append(event);
    const listeners = this.listeners.get(event.sessionId);
    if (listeners === undefined) return;
    for (const listener of listeners) {
      try {
        listener(event);
      } catch {
        // One failing listener must not keep the event from the others or fail the append.
      }
    }
  }

  async readEvents(sessionId: string, fromSeq: number): Promise<EventRange> {
    const stored = this.sessions.get(sessionId);
    if (stored === undefined) return { ok: true, events: [] };
    const range = stored.log.since(fromSeq);
    return range.ok
      ? { ok: true, events: range.events }
      : { ok: false, firstAvailableSeq: range.firstAvailableSeq };
  }

  async subscribe(sessionId: string, listener: SessionEventListener): Promise<() => void> {
    let listeners = this.listeners.get(sessionId);
    if (listeners === undefined) {
      listeners = new Set();
      this.listeners.set(sessionId, listeners);
    }
    // Each subscription gets its own wrapper, so one listener may subscribe twice.
    const subscription: SessionEventListener = (event) => listener(event);
    listeners.add(subscription);
    return () => {
      const current = this.listeners.get(sessionId);
      if (current === undefined) return;
      current.delete(subscription);
      if (current.size === 0) this.listeners.delete(sessionId);
    };
  }

  async countActive(): Promise<number> {
    return this.active;
  }

  async listExpired(now: number): Promise<string[]> {
    const order = this.expiryOrder;
    while (
      this.expiryHead < order.length &&
      !this.sessions.has((order[this.expiryHead] as ExpiryEntry).sessionId)
    ) {
      this.expiryHead++;
    }
    const expired: string[] = [];
    for (let index = this.expiryHead; index < order.length; index++) {
      const entry = order[index] as ExpiryEntry;
      if (entry.expiresAt > now) break;
      if (this.sessions.has(entry.sessionId)) expired.push(entry.sessionId);
    }
    if (this.expiryHead >= COMPACT_AFTER && this.expiryHead * 2 >= order.length) {
      this.expiryOrder = order.slice(this.expiryHead);
      this.expiryHead = 0;
    }
    return expired;
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }

  private insertExpiry(entry: ExpiryEntry): void {
    const order = this.expiryOrder;
    const last = order[order.length - 1];
    if (last === undefined || last.expiresAt <= entry.expiresAt) {
      order.push(entry);
      return;
    }
    let low = this.expiryHead;
    let high = order.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((order[middle] as ExpiryEntry).expiresAt <= entry.expiresAt) low = middle + 1;
      else high = middle;
    }
    order.splice(low, 0, entry);
  }
}

function snapshot(stored: StoredSession): Session {
  const session = stored.session;
  return {
    ...session,
    lastSeq: stored.log.lastSeq ?? 0,
    stats: { ...session.stats },
    pendingToolCalls: [...session.pendingToolCalls],
  };
}
