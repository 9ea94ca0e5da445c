import {
  type ApprovalDecider,
  EnclaveError,
  type SealedMessagePayload,
  type WireError,
} from '@enclave-vm/types';
import type { LoggedEvent } from './logged-event.js';
import type { Session } from './session.js';

/** Default of the stores' `expiryGrace`: how long a record outlives its `expiresAt`, in ms. */
export const DEFAULT_EXPIRY_GRACE = 60_000;

/** The fields of a session record that change after it is created. */
export type SessionChanges = Partial<
  Pick<
    Session,
    | 'status'
    | 'startedAt'
    | 'completedAt'
    | 'stats'
    | 'pendingToolCalls'
    | 'pendingApprovals'
    | 'result'
    | 'error'
    | 'sealedEnding'
  >
>;

/** What {@link SessionStore.readEvents} found. */
export type EventRange =
  | {
      /** Every requested entry is still in the log. */
      readonly ok: true;
      /** Logged entries with `seq ≥ fromSeq`, oldest first. */
      readonly entries: readonly LoggedEvent[];
    }
  | {
      /** Entries of the requested range were dropped from the bounded log. */
      readonly ok: false;
      /** The oldest seq still in the log. */
      readonly firstAvailableSeq: number;
    };

/** Options of {@link SessionStore.createSession}. */
export interface CreateSessionOptions {
  /** The session is created only while fewer than this many sessions are pending or running. */
  maxActive: number;
}

/** Options of {@link SessionStore.append}. */
export interface AppendOptions {
  /**
   * Changes applied to the record in the same atomic step as the entries, so that whoever sees an
   * entry also sees the record as it was once the entry was logged. A `status` of `completed` or
   * `error` ends the session: it stops counting as active and nothing more is appended to it.
   */
  changes?: SessionChanges;
}

/**
 * What {@link SessionStore.append} did. Only `appended` wrote anything.
 * - `appended`: the entries and changes are stored.
 * - `duplicate`: every entry was already in the log (a write that was retried after it succeeded).
 * - `conflict`: the first entry's seq is not the one after the record's `lastSeq`.
 * - `ended`: the session has already ended (`completed` or `error`).
 * - `missing`: there is no such session (never created, deleted or expired).
 */
export type AppendOutcome = 'appended' | 'duplicate' | 'conflict' | 'ended' | 'missing';

/** Receives the entries of one session's log as they are appended. */
export interface SessionFollower {
  /** The next entry: every entry after the starting seq, in seq order, each exactly once. */
  next(entry: LoggedEvent): void;
  /**
   * The entries cannot be delivered any more (the store lost its connection, the session was
   * removed, or entries were dropped from the log before they could be delivered). Nothing follows.
   */
  fail(error: EnclaveError): void;
}

/** The error a client answers a tool call with. */
export interface ToolResultError {
  message: string;
  /** Error code the guest sees. @default 'TOOL_ERROR' */
  code?: string;
}

/**
 * The client's answer to a tool call: a plain result or error, or, in an encrypted session, the
 * sealed `{ callId, result?, error? }`.
 */
export type ToolAnswer =
  | { readonly kind: 'plain'; readonly result: unknown; readonly error?: ToolResultError }
  | { readonly kind: 'sealed'; readonly sealed: SealedMessagePayload };

/**
 * A decision on a tool call waiting for approval: plain, or, in an encrypted session, the sealed
 * `{ type: 'approval', callId, approved, reason? }`.
 */
export type ApprovalAnswer =
  | { readonly kind: 'plain'; readonly approved: boolean; readonly reason?: string }
  | { readonly kind: 'sealed'; readonly sealed: SealedMessagePayload };

/**
 * What one broker asks of the broker that runs a session (plain data, sent through the store):
 * apply a client's tool answer or a decision on an approval, or cancel the session.
 */
export type BrokerRequest =
  | {
      readonly type: 'tool-result';
      readonly sessionId: string;
      readonly callId: string;
      readonly answer: ToolAnswer;
    }
  | {
      readonly type: 'approval';
      readonly sessionId: string;
      readonly callId: string;
      readonly answer: ApprovalAnswer;
      /** Who decided (the authenticated caller of the broker that received the decision). */
      readonly decidedBy?: ApprovalDecider;
    }
  | { readonly type: 'cancel'; readonly sessionId: string };

/** The owner's answer to a {@link BrokerRequest}. */
export type BrokerReply = { readonly ok: true } | { readonly ok: false; readonly error: WireError };

/** Options of {@link SessionStore.join}. */
export interface JoinOptions {
  /** Ms the broker's lease lasts without renewal. */
  leaseMs: number;
  /** Answers the requests other brokers send to this one. */
  onRequest: (request: BrokerRequest) => Promise<BrokerReply>;
}

/** A broker's place among the brokers sharing a store. */
export interface BrokerMembership {
  /** The broker's id. */
  readonly brokerId: string;
  /** Extends the broker's lease by `leaseMs` from now (in the store's clock). */
  renew(): Promise<void>;
  /**
   * Sends a request to broker `brokerId` and resolves with its reply. Rejects with `BROKER_LOST`
   * when that broker is not listening or does not answer within `timeoutMs`, and with
   * `STORE_UNAVAILABLE` when the store cannot be reached.
   */
  request(brokerId: string, request: BrokerRequest, timeoutMs: number): Promise<BrokerReply>;
  /** Stops answering requests and gives up the lease at once (so peers forget the broker). */
  leave(): Promise<void>;
}

/**
 * Where sessions live: their records and their event logs. The store is the only record of a
 * session: a broker keeps in memory only what cannot leave its process (the running executor and an
 * encrypted session's keys) and reads everything else here, so that a store shared by several
 * brokers (Redis) lets any of them serve any session. `InMemorySessionStore` is the default.
 *
 * Contract every implementation keeps (`describeSessionStoreContract` from
 * `@enclave-vm/broker/testing` checks it):
 * - `createSession` checks the cap and inserts in one atomic step (two brokers cannot both take the
 *   last slot); a session counts as active while its status is `pending` or `running`;
 * - `append` is atomic and conditional: the entries (consecutive seqs, the first one after the
 *   record's `lastSeq`) and the changes are applied together, or nothing is;
 * - the log keeps at least the newest `maxEventLogSize` entries; older ones may be dropped;
 * - a follower gets every entry after its starting seq exactly once, in seq order, only after the
 *   entry is readable with `readEvents` and the record shows its changes;
 * - records and logs are plain data: what is read back equals what was written;
 * - a record and its log are removed at the latest `expiryGrace` ms after its `expiresAt` (the
 *   broker treats a session as gone from `expiresAt` on);
 * - brokers sharing the store reach each other through it (`join`, `request`), and each holds a
 *   lease: a broker whose lease lapsed is reported by `lostBrokers` until it is forgotten, and the
 *   active sessions it owns by `sessionsOwnedBy`, so that another broker can end them.
 */
export interface SessionStore {
  /** Ms after a session's `expiresAt` at which the store removes its record and log. */
  readonly expiryGrace: number;
  /**
   * Makes the store ready (connects, checks the server). Called by the broker before its first
   * session and by `listen`; resolves at once when already open. Throws `STORE_UNAVAILABLE` when the
   * store cannot be reached.
   */
  open(): Promise<void>;
  /** Inserts a new record; resolves `false` (and stores nothing) when `maxActive` is reached. */
  createSession(session: Session, options: CreateSessionOptions): Promise<boolean>;
  /** The record with its `lastSeq` current, or `null` when unknown or removed. */
  getSession(sessionId: string): Promise<Session | null>;
  /** Appends entries and applies changes in one atomic, conditional step (see {@link AppendOutcome}). */
  append(sessionId: string, entries: readonly LoggedEvent[], options?: AppendOptions): Promise<AppendOutcome>;
  /** Logged entries with `seq ≥ fromSeq`, or the news that some of them were dropped. */
  readEvents(sessionId: string, fromSeq: number): Promise<EventRange>;
  /**
   * Delivers to `follower` every entry with `seq > afterSeq`, those already logged first, then each
   * one as it is appended; resolves with the function that stops the delivery.
   */
  subscribe(sessionId: string, afterSeq: number, follower: SessionFollower): Promise<() => void>;
  /** Removes the record and its log; followers of it fail. */
  deleteSession(sessionId: string): Promise<void>;
  /**
   * Registers broker `brokerId` among the brokers sharing the store: its lease starts (renew it
   * within `leaseMs`), and requests sent to it reach `onRequest`.
   */
  join(brokerId: string, options: JoinOptions): Promise<BrokerMembership>;
  /** Brokers whose lease has lapsed (they died, lost the store or left) and are not forgotten yet. */
  lostBrokers(): Promise<string[]>;
  /** Up to `limit` ids of the active sessions broker `brokerId` owns. */
  sessionsOwnedBy(brokerId: string, limit: number): Promise<string[]>;
  /**
   * Forgets a lost broker that owns no active session any more; resolves `false` (and keeps it) when
   * it still owns one or renewed its lease meanwhile.
   */
  forgetBroker(brokerId: string): Promise<boolean>;
  /** Releases what the store holds open (connections, timers, followers). */
  close(): Promise<void>;
}

/** The error of a read or subscription whose first entries were dropped from the log. */
export function truncated(sessionId: string, firstAvailableSeq: number): EnclaveError {
  return new EnclaveError(
    'EVENT_LOG_TRUNCATED',
    `Events of session ${sessionId} before seq ${firstAvailableSeq} were dropped from its event log; resume from ${firstAvailableSeq} or later`,
    { details: { firstAvailableSeq } },
  );
}
