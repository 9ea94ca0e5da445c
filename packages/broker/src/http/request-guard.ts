import { EnclaveError, type Logger } from '@enclave-vm/types';
import fastifyRateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { AuthConfig, RateLimitConfig, RateLimitRequest } from '../options/broker-options.js';
import { checkRateLimitConfig } from '../options/check-rate-limit-config.js';
import type { AuthenticatedUser } from '../tools/tool-types.js';
import { Authenticator, type CredentialHeaders } from './authenticator.js';

/** Options of a {@link RequestGuard}: the broker's security options. */
export interface RequestGuardOptions {
  authentication?: AuthConfig;
  rateLimiting?: RateLimitConfig;
  /**
   * Where the rate-limit counters live when they count the whole cluster: a Redis connection and
   * the prefix of their keys. Without it each broker counts its own requests.
   */
  rateLimitRedis?: { connection: Redis; prefix: string };
  logger?: Logger;
}

/** What `@fastify/rate-limit`'s `createRateLimit` resolves with. */
type RateLimitOutcome = Awaited<ReturnType<ReturnType<ReturnType<typeof Fastify>['createRateLimit']>>>;

/** Counts one request and says how its key stands. */
type RateLimiter = (request: FastifyRequest) => Promise<RateLimitOutcome>;

/** A fastify `onRequest` hook. */
export type GuardHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/**
 * Authentication and rate limiting of the broker's routes, as `onRequest` hooks attached per route
 * (so `/health` and unknown routes stay out of both). Authentication runs first so that the rate
 * limit key generator sees the user; a request with bad credentials still counts against its key
 * before it is refused, so guessing credentials is rate limited too.
 *
 * Requests are counted by `@fastify/rate-limit` in fixed windows per key: in Redis when the broker's
 * store is Redis (so the limit counts the whole cluster), else in this process. The plugin is
 * registered on a private fastify instance, so that an app mounting the broker plugin keeps its own
 * `@fastify/rate-limit` settings and the broker keeps its own.
 */
export class RequestGuard {
  private readonly authenticator: Authenticator | undefined;
  private limiter: RateLimiter | undefined;
  private readonly keyGenerator: RateLimitConfig['keyGenerator'];
  private readonly logger: Logger | undefined;
  private readonly users = new WeakMap<FastifyRequest, AuthenticatedUser>();

  private constructor(options: RequestGuardOptions) {
    this.logger = options.logger;
    this.authenticator =
      options.authentication === undefined
        ? undefined
        : new Authenticator(options.authentication, options.logger);
    if (options.rateLimiting !== undefined) checkRateLimitConfig(options.rateLimiting);
    this.keyGenerator = options.rateLimiting?.keyGenerator;
  }

  /** Validates the options and sets up the limiter; throws `CONFIGURATION_ERROR` for invalid ones. */
  static async create(options: RequestGuardOptions): Promise<RequestGuard> {
    const guard = new RequestGuard(options);
    const rateLimiting = options.rateLimiting;
    if (rateLimiting !== undefined) {
      const holder = Fastify({ logger: false });
      await holder.register(fastifyRateLimit, {
        global: false,
        max: rateLimiting.maxRequests,
        timeWindow: rateLimiting.windowMs,
        keyGenerator: (request) => guard.keyOf(request),
        skipOnError: false,
        ...(options.rateLimitRedis === undefined
          ? {}
          : { redis: options.rateLimitRedis.connection, nameSpace: options.rateLimitRedis.prefix }),
      });
      await holder.ready();
      guard.limiter = holder.createRateLimit();
    }
    return guard;
  }

  /** Whether callers must authenticate. */
  get requiresAuthentication(): boolean {
    return this.authenticator !== undefined;
  }

  /** Hook for ordinary routes: authenticates the caller, then applies the rate limit. */
  readonly authenticateAndLimit: GuardHook = async (request, reply) => {
    let failure: unknown;
    if (this.authenticator !== undefined) {
      try {
        const user = await this.authenticator.authenticate(
          this.authenticator.credentialsFrom(request.headers),
        );
        this.users.set(request, user);
      } catch (error) {
        failure = error;
      }
    }
    await this.applyRateLimit(request, reply);
    if (failure !== undefined) {
      const challenge = this.authenticator?.challenge;
      if (challenge !== undefined) reply.header('www-authenticate', challenge);
      throw failure;
    }
  };

  /** Hook for the WebSocket upgrade, whose credentials arrive later in the subscribe message. */
  readonly limitOnly: GuardHook = async (request, reply) => {
    await this.applyRateLimit(request, reply);
  };

  /** The authenticated caller of a request that passed {@link authenticateAndLimit}. */
  callerOf(request: FastifyRequest): AuthenticatedUser | undefined {
    return this.users.get(request);
  }

  /**
   * Authenticates a WebSocket subscriber: the subscribe message's `token` when given, otherwise the
   * upgrade request's headers. Resolves undefined when authentication is off; throws `UNAUTHORIZED`.
   */
  async authenticateSubscriber(
    token: string | undefined,
    headers: CredentialHeaders,
  ): Promise<AuthenticatedUser | undefined> {
    if (this.authenticator === undefined) return undefined;
    return this.authenticator.authenticate(token ?? this.authenticator.credentialsFrom(headers));
  }

  private async applyRateLimit(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (this.limiter === undefined) return;
    let outcome: RateLimitOutcome;
    try {
      outcome = await this.limiter(request);
    } catch (error) {
      // The counters live in Redis and it cannot be reached: a retryable 503, not a free pass.
      throw EnclaveError.isInstance(error)
        ? error
        : new EnclaveError(
            'STORE_UNAVAILABLE',
            `Cannot count the request against its rate limit: ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          );
    }
    if (outcome.isAllowed) return;
    const resetSeconds = Math.max(1, Math.ceil(outcome.ttl / 1000));
    reply.header('x-ratelimit-limit', String(outcome.max));
    reply.header('x-ratelimit-remaining', String(outcome.remaining));
    reply.header('x-ratelimit-reset', String(resetSeconds));
    if (outcome.isExceeded) {
      reply.header('retry-after', String(resetSeconds));
      throw new EnclaveError(
        'RATE_LIMITED',
        `Rate limit of ${outcome.max} requests per window exceeded; retry in ${resetSeconds} s`,
      );
    }
  }

  private keyOf(request: FastifyRequest): string {
    if (this.keyGenerator === undefined) return request.ip;
    const view: RateLimitRequest = {
      headers: request.headers,
      ip: request.ip,
      method: request.method,
      url: request.url,
    };
    const user = this.users.get(request);
    if (user !== undefined) view.user = user;
    let key: string | string[] | undefined;
    try {
      key = this.keyGenerator(view);
    } catch (error) {
      this.logger?.warn('rateLimiting.keyGenerator threw; using the client IP', {
        error: error instanceof Error ? error.message : String(error),
      });
      return request.ip;
    }
    const text = Array.isArray(key) ? key.join(',') : key;
    return typeof text === 'string' && text !== '' ? text : request.ip;
  }
}
