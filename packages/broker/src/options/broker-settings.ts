import {
  DEFAULT_SECURITY_LEVEL,
  EnclaveError,
  formatIssues,
  resolveLimits,
  type SecurityLevel,
  SecurityLevelSchema,
  type SessionLimits,
  SessionLimitsSchema,
} from '@enclave-vm/types';
import { z } from 'zod';
import type { BrokerOptions } from './broker-options.js';
import { checkRateLimitConfig } from './check-rate-limit-config.js';

/** Default of {@link BrokerOptions.sessionTimeout}. */
export const DEFAULT_SESSION_TIMEOUT = 300_000;
/** Default of {@link BrokerOptions.maxConcurrentSessions}. */
export const DEFAULT_MAX_CONCURRENT_SESSIONS = 1000;
/** Default of {@link BrokerOptions.heartbeatInterval}. */
export const DEFAULT_HEARTBEAT_INTERVAL = 15_000;
/** Default of {@link BrokerOptions.maxEventLogSize}. */
export const DEFAULT_MAX_EVENT_LOG_SIZE = 10_000;
/** Default of {@link BrokerOptions.leaseTimeout}. */
export const DEFAULT_LEASE_TIMEOUT = 5_000;
/** Default of {@link BrokerOptions.keyPrefix}. */
export const DEFAULT_KEY_PREFIX = 'enclave:';

/** The smallest accepted `leaseTimeout`: renewals every third of it must fit between stalls. */
const MIN_LEASE_TIMEOUT = 300;

/**
 * The broker's options, checked and with every default filled in, resolved once when the broker is
 * created. Frozen: nothing changes them afterwards.
 */
export interface BrokerSettings {
  readonly securityLevel: SecurityLevel;
  /** The level's limits with `options.limits` applied (frozen). */
  readonly limits: SessionLimits;
  readonly sessionTimeout: number;
  readonly maxConcurrentSessions: number;
  readonly heartbeatInterval: number;
  readonly maxEventLogSize: number;
  readonly leaseTimeout: number;
  /** Ms a call that requires approval waits for the decision (default: `limits.toolTimeout`). */
  readonly approvalTimeout: number;
  /** The prefix of every Redis key (meaningful with `redis`). */
  readonly keyPrefix: string;
}

/**
 * Checks the session options of a broker and fills in their defaults. Throws `CONFIGURATION_ERROR`
 * naming the first invalid option.
 */
export function resolveBrokerSettings(options: BrokerOptions): BrokerSettings {
  const securityLevel = options.securityLevel ?? DEFAULT_SECURITY_LEVEL;
  if (!SecurityLevelSchema.safeParse(securityLevel).success) {
    throw new EnclaveError(
      'CONFIGURATION_ERROR',
      `securityLevel must be one of ${SecurityLevelSchema.options.join(', ')}, got ${JSON.stringify(securityLevel)}`,
    );
  }
  if (options.limits !== undefined) {
    if (typeof options.limits !== 'object' || options.limits === null) {
      throw new EnclaveError('CONFIGURATION_ERROR', 'limits must be an object of session limits');
    }
    const unknown = Object.keys(options.limits).filter(
      (key) => !Object.hasOwn(SessionLimitsSchema.shape, key),
    );
    if (unknown.length > 0) {
      throw new EnclaveError('CONFIGURATION_ERROR', `limits: unknown limit ${unknown.join(', ')}`);
    }
  }
  if (options.rateLimiting !== undefined) checkRateLimitConfig(options.rateLimiting);
  let limits: SessionLimits;
  try {
    limits = Object.freeze(resolveLimits(securityLevel, options.limits ?? {}));
  } catch (error) {
    throw new EnclaveError('CONFIGURATION_ERROR', `limits: ${describeLimitsError(error)}`, { cause: error });
  }
  return Object.freeze({
    securityLevel,
    limits,
    sessionTimeout: positiveInteger('sessionTimeout', options.sessionTimeout, DEFAULT_SESSION_TIMEOUT),
    maxConcurrentSessions: positiveInteger(
      'maxConcurrentSessions',
      options.maxConcurrentSessions,
      DEFAULT_MAX_CONCURRENT_SESSIONS,
    ),
    heartbeatInterval: positiveInteger(
      'heartbeatInterval',
      options.heartbeatInterval,
      DEFAULT_HEARTBEAT_INTERVAL,
    ),
    maxEventLogSize: positiveInteger('maxEventLogSize', options.maxEventLogSize, DEFAULT_MAX_EVENT_LOG_SIZE),
    leaseTimeout: resolveLeaseTimeout(options.leaseTimeout),
    approvalTimeout: positiveInteger('approvalTimeout', options.approvalTimeout, limits.toolTimeout),
    keyPrefix: resolveKeyPrefix(options),
  });
}

function resolveLeaseTimeout(value: number | undefined): number {
  const leaseTimeout = positiveInteger('leaseTimeout', value, DEFAULT_LEASE_TIMEOUT);
  if (leaseTimeout < MIN_LEASE_TIMEOUT) {
    throw new EnclaveError(
      'CONFIGURATION_ERROR',
      `leaseTimeout must be at least ${MIN_LEASE_TIMEOUT} ms, got ${leaseTimeout}`,
    );
  }
  return leaseTimeout;
}

function resolveKeyPrefix(options: BrokerOptions): string {
  if (options.keyPrefix === undefined) return DEFAULT_KEY_PREFIX;
  if (options.redis === undefined) {
    throw new EnclaveError(
      'CONFIGURATION_ERROR',
      'keyPrefix names Redis keys: it needs `redis` (a RedisSessionStore passed as `store` takes its own keyPrefix)',
    );
  }
  if (typeof options.keyPrefix !== 'string' || options.keyPrefix.length > 200) {
    throw new EnclaveError('CONFIGURATION_ERROR', 'keyPrefix must be a string of at most 200 characters');
  }
  return options.keyPrefix;
}

function describeLimitsError(error: unknown): string {
  if (error instanceof z.ZodError) return formatIssues(error.issues);
  return error instanceof Error ? error.message : String(error);
}

/** `value` when it is a positive safe integer, `fallback` when undefined; throws otherwise. */
export function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new EnclaveError('CONFIGURATION_ERROR', `${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}
