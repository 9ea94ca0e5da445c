import type { Logger, SecurityLevel, SessionLimitsOverride } from '@enclave-vm/types';
import type { Redis } from 'ioredis';
import type { OpenApiSourceConfig } from '../catalog/open-api-source-config.js';
import type { McpServerConfig } from '../mcp/mcp-server-config.js';
import type { SessionStore } from '../sessions/session-store.js';
import type { ToolRegistry } from '../tools/tool-registry.js';
import type { AuthenticatedUser, ToolHandler } from '../tools/tool-types.js';

/** Local runtime worker processes that the broker starts and scales (extracted mode). */
export interface RuntimePoolOptions {
  /** Processes kept running at all times. */
  minSize: number;
  /** Processes at most. */
  maxSize: number;
  /** Average load (active sessions ÷ capacity, 0–1) above which a process is added. */
  scaleUpThreshold: number;
  /** Average load below which an idle process is stopped (never below minSize). */
  scaleDownThreshold: number;
  /** How often, in ms, the load is checked. */
  scaleInterval: number;
}

/** Result of validating credentials. */
export interface AuthResult {
  valid: boolean;
  userId?: string;
  tenantId?: string;
  permissions?: string[];
}

/**
 * Authentication of HTTP callers. `bearer` reads `Authorization: Bearer <token>`, `api-key` reads the
 * `x-api-key` header, `custom` passes the raw `Authorization` header value to `validate`.
 */
export interface AuthConfig {
  type: 'bearer' | 'api-key' | 'custom';
  validate: (token: string) => Promise<AuthResult>;
}

/** The request as a rate-limit key generator sees it. */
export interface RateLimitRequest {
  headers: Record<string, string | string[] | undefined>;
  ip: string;
  method: string;
  url: string;
  /** The authenticated caller, when authentication ran first. */
  user?: AuthenticatedUser;
}

/** Fixed-window rate limiting per key (default key: the client IP). */
export interface RateLimitConfig {
  windowMs: number;
  maxRequests: number;
  keyGenerator?: (request: RateLimitRequest) => string | string[] | undefined;
}

/** CORS for browser clients. `true` allows any origin. */
export type CorsOptions = boolean | { origin: string | string[] | boolean; credentials?: boolean };

/** Options of `createBroker` / `new EnclaveBroker`. */
export interface BrokerOptions {
  /** Where code runs: an in-process worker-thread pool, or runtime workers over WebSocket. @default 'embedded' */
  mode?: 'embedded' | 'extracted';
  /** Extracted mode: one or several runtime worker URLs (`ws://host:3001`). */
  runtimeUrl?: string | string[];
  /** Extracted mode: shared secret sent to runtime workers. */
  runtimeAuthToken?: string;
  /** Extracted mode: local runtime worker processes started and scaled by the broker. */
  runtimePool?: RuntimePoolOptions;
  /** Embedded mode: worker threads of the sandbox pool; with `runtimePool`, of each process's pool. @default number of cores */
  poolSize?: number;
  /**
   * Embedded mode and `runtimePool`: ms a session waits on its tool calls before it is parked — its
   * sandbox memory compressed and its engine instance freed until the next result, so that sessions
   * waiting on people or slow tools hold about 0.1 MB instead of about 0.7 MB each. `Infinity`
   * never parks. Workers at `runtimeUrl` take it on their own command line (`--park-after-ms`).
   * @default 1000
   */
  parkAfterMs?: number;
  /** Limits preset for sessions. @default 'STANDARD' */
  securityLevel?: SecurityLevel;
  /**
   * Overrides of the security level's limits for every session, e.g. `{ toolTimeout: 2000 }`.
   * A request's `timeout` and `maxToolCalls` are capped by the resulting limits.
   */
  limits?: SessionLimitsOverride;
  /** Tools that run on the broker. */
  tools?: ToolRegistry;
  /** Handler for tool names the registry does not know; without it such calls go to the client. */
  toolHandler?: ToolHandler;
  /**
   * Ms a tool call that requires approval (`requiresApproval`) waits for a decision; without one it
   * fails with `APPROVAL_TIMEOUT` and the tool does not run. The wait is not part of the tool
   * timeout: an approved tool then gets its whole `toolTimeout`. The session's own `timeout` still
   * bounds everything (`EXECUTION_TIMEOUT`). @default the session limits' `toolTimeout`
   */
  approvalTimeout?: number;
  /**
   * OpenAPI services whose operations become tools (`${name}_${operationId}`) and catalog actions
   * (`GET /code/actions`), polled to stay current. See `broker.catalog`.
   */
  openApiSources?: OpenApiSourceConfig[];
  /**
   * MCP servers (a local process over stdio, or Streamable HTTP) whose tools become tools
   * (`${name}_${tool}`) and catalog actions, refreshed when a server says its list changed. See
   * `broker.catalog`.
   */
  mcpServers?: McpServerConfig[];
  /** Ms after creation at which a session and its event log are discarded. @default 300000 */
  sessionTimeout?: number;
  /** Sessions running at once; more get SESSION_LIMIT_REACHED (429). @default 1000 */
  maxConcurrentSessions?: number;
  /** Ms between heartbeat events of a running session. @default 15000 */
  heartbeatInterval?: number;
  /**
   * Events kept per session for resume, in the store the broker creates (with `store`, set it on
   * that store instead). @default 10000
   */
  maxEventLogSize?: number;
  /**
   * Where sessions live: any {@link SessionStore}. Brokers given the same store behave as one. A
   * store passed here is the caller's to close; the broker closes only a store it created.
   * @default a new `InMemorySessionStore`
   */
  store?: SessionStore;
  /**
   * An ioredis client: sessions live in Redis (a `RedisSessionStore` over duplicates of this
   * client), so every broker given the same Redis serves every session, and the session cap and
   * rate limits count the whole cluster. The client stays yours to close. Without it (and without
   * `store`) sessions stay in this process's memory.
   */
  redis?: Redis;
  /** With `redis`: the prefix of every key the broker writes. @default 'enclave:' */
  keyPrefix?: string;
  /**
   * Ms a broker's lease on the sessions it runs lasts without renewal (it renews every third of
   * it). When a broker dies, another broker sharing the store ends each of its sessions with
   * `BROKER_LOST` within about 1.5 times this; it is also how long a request routed to the broker
   * running a session waits for the answer. At least 300. @default 5000
   */
  leaseTimeout?: number;
  authentication?: AuthConfig;
  rateLimiting?: RateLimitConfig;
  /** @default false */
  cors?: CorsOptions;
  /** Largest accepted request body in bytes. @default 1048576 */
  bodyLimit?: number;
  logger?: Logger;
}
