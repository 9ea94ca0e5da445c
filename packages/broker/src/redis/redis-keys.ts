/**
 * The names of every Redis key and channel the broker uses, under one prefix (`enclave:` by
 * default). Session keys: `session:<id>` (hash: the record) and `session:<id>:log` (stream: the
 * event log, one entry per event with id `<seq>-0`). Cluster keys: `active` (sorted set of active
 * sessions, scored by `expiresAt`: the session cap), `brokers` (sorted set of brokers, scored by
 * lease deadline), `broker:<id>:sessions` (set of the active sessions a broker runs),
 * `broker:<id>` (pub/sub channel of requests and replies to a broker), `reader:<id>:wake` (stream
 * that wakes a store's blocking reader), `rate:<key>` (rate-limit counters).
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** Hash: the session's record. */
  session(sessionId: string): string {
    return `${this.prefix}session:${sessionId}`;
  }

  /** Stream: the session's event log. */
  log(sessionId: string): string {
    return `${this.prefix}session:${sessionId}:log`;
  }

  /** Sorted set: active sessions by `expiresAt`. */
  get active(): string {
    return `${this.prefix}active`;
  }

  /** Sorted set: brokers by lease deadline (Redis clock, ms). */
  get brokers(): string {
    return `${this.prefix}brokers`;
  }

  /** Set: the active sessions a broker runs. */
  brokerSessions(brokerId: string): string {
    return `${this.prefix}broker:${brokerId}:sessions`;
  }

  /** Pub/sub channel: requests and replies addressed to a broker. */
  brokerChannel(brokerId: string): string {
    return `${this.prefix}broker:${brokerId}`;
  }

  /** Stream: wakes the blocking reader of one store instance when it follows a new session. */
  wake(readerId: string): string {
    return `${this.prefix}reader:${readerId}:wake`;
  }

  /** Prefix of the rate-limit counters (`@fastify/rate-limit` appends the key). */
  get rateLimit(): string {
    return `${this.prefix}rate:`;
  }
}
