import { EnclaveError } from '@enclave-vm/types';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthConfig, Logger, RateLimitConfig, RateLimitRequest } from '../options/broker-options.js';
import type { AuthenticatedUser } from '../tools/tool-types.js';
import { Authenticator, type CredentialHeaders } from './authenticator.js';
import { FixedWindowRateLimiter } from './fixed-window-rate-limiter.js';

/** Options of a {@link RequestGuard}: the broker's security options. */
export interface RequestGuardOptions {
  authentication?: AuthConfig;
  rateLimiting?: RateLimitConfig;
  logger?: Logger;
}

/** A fastify `onRequest` hook. */
export type GuardHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/**
 * Authentication and rate limiting of the broker's routes, as `onRequest` hooks attached per route
 * (so `/health` and unknown routes stay out of both). Authentication runs first so that the rate
 * limit key generator sees the user; a request with bad credentials still counts against its key
 * before it is refused, so guessing credentials is rate limited too.
 */
export class RequestGuard {
  private readonly authenticator: Authenticator | undefined;
  private readonly limiter: FixedWindowRateLimiter | undefined;
  private readonly keyGenerator: RateLimitConfig['keyGenerator'];
  private readonly logger: Logger | undefined;
  private readonly users = new WeakMap<FastifyRequest, AuthenticatedUser>();

  /** Validates the options; throws `CONFIGURATION_ERROR` for invalid ones. */
  constructor(options: RequestGuardOptions) {
    this.logger = options.logger;
    this.authenticator =
      options.authentication === undefined
        ? undefined
        : new Authenticator(options.authentication, options.logger);
    const rateLimiting = options.rateLimiting;
    if (rateLimiting !== undefined) {
      this.limiter = new FixedWindowRateLimiter({
        windowMs: rateLimiting.windowMs,
        maxRequests: rateLimiting.maxRequests,
      });
      if (rateLimiting.keyGenerator !== undefined && typeof rateLimiting.keyGenerator !== 'function') {
        throw new EnclaveError('CONFIGURATION_ERROR', 'rateLimiting.keyGenerator must be a function');
      }
      this.keyGenerator = rateLimiting.keyGenerator;
    }
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
    this.applyRateLimit(request, reply);
    if (failure !== undefined) {
      const challenge = this.authenticator?.challenge;
      if (challenge !== undefined) reply.header('www-authenticate', challenge);
      throw failure;
    }
  };

  /** Hook for the WebSocket upgrade, whose credentials arrive later in the subscribe message. */
  readonly limitOnly: GuardHook = async (request, reply) => {
    this.applyRateLimit(request, reply);
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

  private applyRateLimit(request: FastifyRequest, reply: FastifyReply): void {
    if (this.limiter === undefined) return;
    const decision = this.limiter.consume(this.keyOf(request));
    const resetSeconds = Math.max(1, Math.ceil(decision.resetInMs / 1000));
    reply.header('x-ratelimit-limit', String(decision.limit));
    reply.header('x-ratelimit-remaining', String(decision.remaining));
    reply.header('x-ratelimit-reset', String(resetSeconds));
    if (!decision.allowed) {
      reply.header('retry-after', String(resetSeconds));
      throw new EnclaveError(
        'RATE_LIMITED',
        `Rate limit of ${decision.limit} requests per window exceeded; retry in ${resetSeconds} s`,
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
