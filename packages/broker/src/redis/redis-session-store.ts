import { randomUUID } from 'node:crypto';
import { EnclaveError, type Logger } from '@enclave-vm/types';
import type { Redis, RedisOptions } from 'ioredis';
import { DEFAULT_KEY_PREFIX, DEFAULT_MAX_EVENT_LOG_SIZE } from '../options/broker-settings.js';
import type { LoggedEvent } from '../sessions/logged-event.js';
import type { Session } from '../sessions/session.js';
import {
  type AppendOptions,
  type AppendOutcome,
  type BrokerMembership,
  type CreateSessionOptions,
  DEFAULT_EXPIRY_GRACE,
  type EventRange,
  type JoinOptions,
  type SessionFollower,
  type SessionStore,
} from '../sessions/session-store.js';
import { RedisKeys } from './redis-keys.js';
import { RedisLogFollowers } from './redis-log-followers.js';
import { RedisMessenger, storeUnavailable } from './redis-messenger.js';
import {
  decodeEntry,
  decodeRecord,
  encodeChanges,
  encodeEntry,
  encodeRecord,
  type StreamEntry,
  seqOf,
} from './redis-record-codec.js';
import {
  APPEND,
  CREATE_SESSION,
  DELETE_SESSION,
  FORGET_BROKER,
  LEAVE,
  LOST_BROKERS,
  OWNED_SESSIONS,
  RENEW_LEASE,
  runScript,
} from './redis-scripts.js';

/** Options of {@link RedisSessionStore}. */
export interface RedisSessionStoreOptions {
  /**
   * An ioredis client. The store opens its own connections with the client's settings
   * (`duplicate()`): one for requests, one for log writes, one blocking reader and one pub/sub
   * subscriber. The client itself stays yours to close.
   */
  redis: Redis;
  /** Prefix of every key and channel. @default 'enclave:' */
  keyPrefix?: string;
  /** Entries kept per session log (`XADD … MAXLEN`). @default 10000 */
  maxEventLogSize?: number;
  /** Ms after a session's `expiresAt` at which its keys expire. @default 60000 */
  expiryGrace?: number;
  /** Ms a command serving a request may take before it fails with `STORE_UNAVAILABLE`. @default 5000 */
  commandTimeout?: number;
  /** Ms `open` waits for Redis before it fails with `STORE_UNAVAILABLE`. @default 5000 */
  connectTimeout?: number;
  /** Where connection trouble is reported. @default warnings and errors to the console */
  logger?: Logger;
}

/** Entries read per XRANGE. */
const READ_PAGE = 1_000;
/** How long the brokers registry outlives its last renewal. */
const REGISTRY_TTL_MS = 86_400_000;
/** Oldest Redis that runs the store's scripts. */
const MIN_REDIS_VERSION = [6, 2] as const;

interface Connections {
  /** Requests: fails at once while Redis is unreachable (retryable 503). */
  readonly commands: Redis;
  /** Log writes: waits through outages and keeps their order. */
  readonly writer: Redis;
  /** The blocking XREAD loop. */
  readonly reader: Redis;
  /** Pub/sub between brokers. */
  readonly subscriber: Redis;
}

const consoleLogger: Logger = {
  debug() {},
  info() {},
  warn: (message, data) => console.warn(`[enclave-broker] ${message}`, data ?? ''),
  error: (message, data) => console.error(`[enclave-broker] ${message}`, data ?? ''),
};

/**
 * A {@link SessionStore} in Redis, shared by every broker given the same Redis and key prefix:
 * records in hashes, each event log in a Redis Stream (`XADD` with `MAXLEN`, one entry per event
 * with id `<seq>-0`), live events through `XREAD BLOCK` on a dedicated connection, the session cap
 * and every conditional write in Lua scripts, requests between brokers over pub/sub, leases in a
 * sorted set scored with the server's clock. Every key expires. Needs Redis 6.2 or later, one
 * primary (Redis Cluster is not supported: scripts touch keys of several sessions).
 *
 * @example
 * const store = new RedisSessionStore({ redis: new Redis(process.env.REDIS_URL) });
 * const broker = createBroker({ store });
 */
export class RedisSessionStore implements SessionStore {
  /** Ms after a session's `expiresAt` at which its keys expire. */
  readonly expiryGrace: number;
  /** Entries kept per session log. */
  readonly maxEventLogSize: number;
  /** Prefix of every key. */
  readonly keyPrefix: string;
  private readonly keys: RedisKeys;
  private readonly redis: Redis;
  private readonly commandTimeout: number;
  private readonly connectTimeout: number;
  private readonly logger: Logger;
  private readonly readerId = randomUUID();
  private connections: Connections | undefined;
  private followers: RedisLogFollowers | undefined;
  private messenger: RedisMessenger | undefined;
  private opening: Promise<void> | undefined;
  private closed = false;

  /** Throws `CONFIGURATION_ERROR` for invalid options. Connects only in `open`. */
  constructor(options: RedisSessionStoreOptions) {
    if (options === null || typeof options !== 'object' || !isRedisClient(options.redis)) {
      throw new EnclaveError('CONFIGURATION_ERROR', 'redis must be an ioredis client (new Redis(url))');
    }
    this.redis = options.redis;
    this.keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
    if (typeof this.keyPrefix !== 'string') {
      throw new EnclaveError('CONFIGURATION_ERROR', 'keyPrefix must be a string');
    }
    this.maxEventLogSize = integerAtLeast(
      'maxEventLogSize',
      options.maxEventLogSize,
      DEFAULT_MAX_EVENT_LOG_SIZE,
      1,
    );
    this.expiryGrace = integerAtLeast('expiryGrace', options.expiryGrace, DEFAULT_EXPIRY_GRACE, 0);
    this.commandTimeout = integerAtLeast('commandTimeout', options.commandTimeout, 5_000, 1);
    this.connectTimeout = integerAtLeast('connectTimeout', options.connectTimeout, 5_000, 1);
    this.logger = options.logger ?? consoleLogger;
    this.keys = new RedisKeys(this.keyPrefix);
  }

  /** The client the store was given (its connections are duplicates of it). */
  get client(): Redis {
    return this.redis;
  }

  /**
   * The connection requests use, open; also serves the cluster-wide rate limit. Throws
   * `STORE_UNAVAILABLE` before `open`.
   */
  get commandConnection(): Redis {
    return this.connected().commands;
  }

  /**
   * Connects (four connections) and checks the server. Throws `STORE_UNAVAILABLE` naming the address
   * and the reason when Redis cannot be reached within `connectTimeout`, and `CONFIGURATION_ERROR`
   * for a Redis older than 6.2. A later call tries again.
   */
  open(): Promise<void> {
    if (this.closed)
      return Promise.reject(new EnclaveError('STORE_UNAVAILABLE', 'The session store is closed'));
    this.opening ??= this.connect().catch((error: unknown) => {
      this.opening = undefined;
      throw error;
    });
    return this.opening;
  }

  async createSession(session: Session, options: CreateSessionOptions): Promise<boolean> {
    const created = await this.command((connection) =>
      runScript(
        connection,
        CREATE_SESSION,
        [this.keys.session(session.id), this.keys.active],
        [
          this.keyPrefix,
          session.id,
          options.maxActive,
          session.expiresAt,
          session.expiresAt + this.expiryGrace,
          session.status,
          session.owner ?? '',
          ...encodeRecord(session),
        ],
      ),
    );
    if (created === -1) throw new EnclaveError('INTERNAL_ERROR', `Session ${session.id} already exists`);
    return created === 1;
  }

  async getSession(sessionId: string): Promise<Session | null> {
    const hash = await this.command((connection) => connection.hgetall(this.keys.session(sessionId)));
    return decodeRecord(hash);
  }

  async append(
    sessionId: string,
    entries: readonly LoggedEvent[],
    options: AppendOptions = {},
  ): Promise<AppendOutcome> {
    const { writer } = this.connected();
    const args: (string | number)[] = [
      this.keyPrefix,
      this.maxEventLogSize,
      entries.length,
      entries[0]?.seq ?? 0,
      entries.at(-1)?.seq ?? 0,
    ];
    for (const entry of entries) {
      const [id, type, json] = encodeEntry(entry);
      args.push(id, type, json);
    }
    const changes = encodeChanges(options.changes);
    args.push(changes.length / 2, ...changes);
    const outcome = await runScript(
      writer,
      APPEND,
      [this.keys.session(sessionId), this.keys.log(sessionId), this.keys.active],
      args,
    );
    return outcome as AppendOutcome;
  }

  async readEvents(sessionId: string, fromSeq: number): Promise<EventRange> {
    const key = this.keys.log(sessionId);
    const entries: LoggedEvent[] = [];
    let next = fromSeq;
    for (;;) {
      const page = (await this.command((connection) =>
        connection.xrange(key, `${next}-0`, '+', 'COUNT', READ_PAGE),
      )) as StreamEntry[];
      const first = page[0];
      if (first === undefined) break;
      // Seqs are contiguous: a first entry past the one asked for means that one was trimmed.
      const firstSeq = seqOf(first[0]);
      if (firstSeq !== next) return { ok: false, firstAvailableSeq: firstSeq };
      for (const entry of page) entries.push(decodeEntry(entry));
      next = (entries.at(-1)?.seq ?? next) + 1;
      if (page.length < READ_PAGE) break;
    }
    return { ok: true, entries };
  }

  async subscribe(sessionId: string, afterSeq: number, follower: SessionFollower): Promise<() => void> {
    const exists = await this.command((connection) => connection.exists(this.keys.session(sessionId)));
    if (exists === 0) throw new EnclaveError('SESSION_NOT_FOUND', `No session ${sessionId}`);
    this.connected();
    return (this.followers as RedisLogFollowers).follow(sessionId, afterSeq, follower);
  }

  async deleteSession(sessionId: string): Promise<void> {
    await this.command((connection) =>
      runScript(
        connection,
        DELETE_SESSION,
        [this.keys.session(sessionId), this.keys.log(sessionId), this.keys.active],
        [this.keyPrefix, sessionId],
      ),
    );
    this.followers?.failSession(
      sessionId,
      new EnclaveError('SESSION_NOT_FOUND', `Session ${sessionId} was deleted`),
    );
  }

  async join(brokerId: string, options: JoinOptions): Promise<BrokerMembership> {
    this.connected();
    const messenger = this.messenger as RedisMessenger;
    const renew = async (): Promise<void> => {
      await this.command((connection) =>
        runScript(connection, RENEW_LEASE, [this.keys.brokers], [brokerId, options.leaseMs, REGISTRY_TTL_MS]),
      );
    };
    await messenger.listen(brokerId, options.onRequest);
    await renew();
    return {
      brokerId,
      renew,
      request: (target, request, timeoutMs) => messenger.request(target, request, timeoutMs),
      leave: async () => {
        await messenger.stop();
        await this.command((connection) =>
          runScript(connection, LEAVE, [this.keys.brokers, this.keys.brokerSessions(brokerId)], [brokerId]),
        );
      },
    };
  }

  async lostBrokers(): Promise<string[]> {
    return (await this.command((connection) =>
      runScript(connection, LOST_BROKERS, [this.keys.brokers], []),
    )) as string[];
  }

  async sessionsOwnedBy(brokerId: string, limit: number): Promise<string[]> {
    return (await this.command((connection) =>
      runScript(
        connection,
        OWNED_SESSIONS,
        [this.keys.brokerSessions(brokerId)],
        [this.keyPrefix, brokerId, limit],
      ),
    )) as string[];
  }

  async forgetBroker(brokerId: string): Promise<boolean> {
    const forgotten = await this.command((connection) =>
      runScript(
        connection,
        FORGET_BROKER,
        [this.keys.brokers, this.keys.brokerSessions(brokerId)],
        [brokerId],
      ),
    );
    return forgotten === 1;
  }

  /** Closes the store's connections (not the client it was given). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.opening?.catch(() => undefined);
    await this.followers?.close();
    await this.messenger?.stop();
    const connections = this.connections;
    this.connections = undefined;
    if (connections !== undefined) await Promise.all(Object.values(connections).map(quit));
  }

  /** The open connections; throws `STORE_UNAVAILABLE` before `open` resolved or after `close`. */
  private connected(): Connections {
    if (this.connections === undefined || this.closed) {
      throw new EnclaveError('STORE_UNAVAILABLE', 'The Redis session store is not open');
    }
    return this.connections;
  }

  /** Runs a request's command; a failure for lack of Redis is a retryable `STORE_UNAVAILABLE`. */
  private async command<Result>(run: (connection: Redis) => Promise<Result>): Promise<Result> {
    const { commands } = this.connected();
    try {
      return await run(commands);
    } catch (error) {
      if (error instanceof Error && error.name === 'ReplyError') {
        throw new EnclaveError('INTERNAL_ERROR', `Redis refused a command: ${error.message}`, {
          cause: error,
        });
      }
      throw storeUnavailable(error);
    }
  }

  private async connect(): Promise<void> {
    const base: RedisOptions = { lazyConnect: true, keyPrefix: '' };
    const connections: Connections = {
      commands: this.redis.duplicate({
        ...base,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
        commandTimeout: this.commandTimeout,
      }),
      writer: this.redis.duplicate({ ...base, maxRetriesPerRequest: null, enableOfflineQueue: true }),
      reader: this.redis.duplicate({
        ...base,
        maxRetriesPerRequest: null,
        autoResendUnfulfilledCommands: false,
      }),
      subscriber: this.redis.duplicate({ ...base, maxRetriesPerRequest: null }),
    };
    for (const [role, connection] of Object.entries(connections)) this.reportTrouble(role, connection);
    try {
      await Promise.all(
        Object.values(connections).map((connection) => whenReady(connection, this.connectTimeout)),
      );
      await checkVersion(connections.commands);
    } catch (error) {
      await Promise.all(Object.values(connections).map(quit));
      if (EnclaveError.isInstance(error)) throw error;
      throw new EnclaveError(
        'STORE_UNAVAILABLE',
        `Cannot reach Redis at ${describeAddress(this.redis)}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    if (this.closed) {
      await Promise.all(Object.values(connections).map(quit));
      throw new EnclaveError('STORE_UNAVAILABLE', 'The session store is closed');
    }
    this.connections = connections;
    this.followers = new RedisLogFollowers(
      connections.reader,
      connections.commands,
      this.keys,
      this.keys.wake(this.readerId),
      this.logger,
    );
    this.messenger = new RedisMessenger(connections.subscriber, connections.commands, this.keys, this.logger);
  }

  /** Logs a lost connection once per outage, and its return (never an unhandled `error` event). */
  private reportTrouble(role: string, connection: Redis): void {
    let troubled = false;
    connection.on('error', (error: Error) => {
      if (troubled || this.closed || this.connections === undefined) return;
      troubled = true;
      this.logger.warn('Lost the connection to Redis; retrying', { connection: role, error: error.message });
    });
    connection.on('ready', () => {
      if (!troubled) return;
      troubled = false;
      this.logger.info('The connection to Redis is back', { connection: role });
    });
  }
}

function isRedisClient(value: unknown): value is Redis {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { duplicate?: unknown }).duplicate === 'function' &&
    typeof (value as { evalsha?: unknown }).evalsha === 'function'
  );
}

function integerAtLeast(name: string, value: number | undefined, fallback: number, minimum: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < minimum) {
    throw new EnclaveError(
      'CONFIGURATION_ERROR',
      `${name} must be an integer ≥ ${minimum}, got ${String(value)}`,
    );
  }
  return value;
}

/** Connects a lazy connection; rejects on its first error or after `timeoutMs`. */
function whenReady(connection: Redis, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const finish = (error?: unknown): void => {
      clearTimeout(timer);
      connection.off('ready', onReady);
      connection.off('error', onError);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onReady = (): void => finish();
    const onError = (error: unknown): void => finish(error);
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    connection.once('ready', onReady);
    connection.once('error', onError);
    connection.connect().catch(onError);
  });
}

async function checkVersion(connection: Redis): Promise<void> {
  const info = await connection.info('server');
  const match = /redis_version:(\d+)\.(\d+)/.exec(info);
  const major = Number(match?.[1] ?? 0);
  const minor = Number(match?.[2] ?? 0);
  if (major < MIN_REDIS_VERSION[0] || (major === MIN_REDIS_VERSION[0] && minor < MIN_REDIS_VERSION[1])) {
    throw new EnclaveError(
      'CONFIGURATION_ERROR',
      `The Redis session store needs Redis ${MIN_REDIS_VERSION.join('.')} or later, found ${match?.[0] ?? 'an unknown version'}`,
    );
  }
}

async function quit(connection: Redis): Promise<void> {
  if (connection.status === 'end') return;
  const gone = new Promise<void>((resolve) => setTimeout(resolve, 1_000).unref());
  await Promise.race([
    connection.quit().then(
      () => undefined,
      () => undefined,
    ),
    gone,
  ]);
  connection.disconnect();
}

function describeAddress(redis: Redis): string {
  const options = redis.options;
  if (options.path !== undefined) return options.path;
  return `${options.host ?? '127.0.0.1'}:${options.port ?? 6379}`;
}
