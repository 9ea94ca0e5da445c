import type { StreamEvent } from '@enclave-vm/types';
import type { Session } from './session.js';

/** The fields of a session record that change after it is created. */
export type SessionChanges = Partial<
  Pick<Session, 'status' | 'completedAt' | 'stats' | 'pendingToolCalls' | 'result' | 'error'>
>;

/** What {@link SessionStore.readEvents} found. */
export type EventRange =
  | {
      /** Every requested event is still in the log. */
      readonly ok: true;
      /** Logged events with `seq ≥ fromSeq`, oldest first. */
      readonly events: readonly StreamEvent[];
    }
  | {
      /** Events of the requested range were dropped from the bounded log. */
      readonly ok: false;
      /** The oldest seq still in the log. */
      readonly firstAvailableSeq: number;
    };

/** Options of {@link SessionStore.createSession}. */
export interface CreateSessionOptions {
  /** The session is created only while fewer than this many sessions are pending or running. */
  maxActive: number;
}

/** Receives the live events of one session, in seq order. */
export type SessionEventListener = (event: StreamEvent) => void;

/**
 * Where the broker keeps session records and their event logs. Everything above it (HTTP routes,
 * resume, tool results) goes through this interface, so a shared store (a later Redis
 * implementation: records in hashes, each log in a Redis Stream, live events over pub/sub) lets
 * several brokers serve the same sessions. The in-memory store is the default.
 *
 * Contract every implementation keeps:
 * - `appendEvent` is called with consecutive seqs per session, and events reach `subscribe`
 *   listeners in that order, after they are readable through `readEvents`;
 * - `createSession` checks the cap and inserts atomically (two brokers cannot both take the last slot);
 * - a session counts as active while its status is `pending` or `running`.
 */
export interface SessionStore {
  /** Inserts a new record; resolves `false` (and stores nothing) when `maxActive` is reached. */
  createSession(session: Session, options: CreateSessionOptions): Promise<boolean>;
  /** The record with its `lastSeq` current, or `null` when unknown or deleted. Expiry is the caller's rule. */
  getSession(sessionId: string): Promise<Session | null>;
  /** Applies changes and resolves with the updated record, or `null` when unknown. */
  updateSession(sessionId: string, changes: SessionChanges): Promise<Session | null>;
  /** Removes the record and its event log; live subscriptions to it are dropped. */
  deleteSession(sessionId: string): Promise<void>;
  /** Appends an event to its session's log (bounded: the oldest are dropped) and publishes it. */
  appendEvent(event: StreamEvent): Promise<void>;
  /** Logged events with `seq ≥ fromSeq`, or the news that some were dropped. */
  readEvents(sessionId: string, fromSeq: number): Promise<EventRange>;
  /** Delivers every event appended from now on; resolves with a function that stops the delivery. */
  subscribe(sessionId: string, listener: SessionEventListener): Promise<() => void>;
  /** Sessions with status `pending` or `running`. */
  countActive(): Promise<number>;
  /** Ids of sessions whose `expiresAt` is at or before `now`. */
  listExpired(now: number): Promise<string[]>;
  /** Releases what the store holds open (connections, subscriptions). */
  close(): Promise<void>;
}
