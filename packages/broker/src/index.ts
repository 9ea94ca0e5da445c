// biome-ignore-all assist/source/organizeImports: each section below is owned by one engineer; keep them apart.

// --- core ---
export type {
  ApprovalRequestInfo,
  ApprovalResolutionInfo,
  BrokerEventMap,
  BrokerEventName,
  ToolCallInfo,
  ToolCompletionInfo,
} from './broker-events.js';
export { createBroker } from './create-broker.js';
export type {
  BrokerAddress,
  ExecuteOptions,
  StreamEventsOptions,
  ToolResultError,
} from './enclave-broker.js';
export {
  DEFAULT_HEARTBEAT_INTERVAL,
  DEFAULT_MAX_CONCURRENT_SESSIONS,
  DEFAULT_SESSION_TIMEOUT,
  EnclaveBroker as Broker,
  EnclaveBroker,
} from './enclave-broker.js';
export type {
  AuthConfig,
  AuthResult,
  BrokerOptions,
  CorsOptions,
  RateLimitConfig,
  RateLimitRequest,
  RuntimePoolOptions,
} from './options/broker-options.js';
export type { Emitter, LogFields, Logger, Unsubscribe } from '@enclave-vm/types';
export type { BrokerSettings } from './options/broker-settings.js';
export {
  DEFAULT_KEY_PREFIX,
  DEFAULT_LEASE_TIMEOUT,
  DEFAULT_MAX_EVENT_LOG_SIZE,
} from './options/broker-settings.js';
export type { RedisSessionStoreOptions } from './redis/redis-session-store.js';
export { RedisSessionStore } from './redis/redis-session-store.js';
export type { InMemorySessionStoreOptions } from './sessions/in-memory-session-store.js';
export { InMemorySessionStore } from './sessions/in-memory-session-store.js';
export type { LoggedEvent } from './sessions/logged-event.js';
export type { Session } from './sessions/session.js';
export type {
  AppendOptions,
  AppendOutcome,
  ApprovalAnswer,
  BrokerMembership,
  BrokerReply,
  BrokerRequest,
  CreateSessionOptions,
  EventRange,
  JoinOptions,
  SessionChanges,
  SessionFollower,
  SessionStore,
  ToolAnswer,
} from './sessions/session-store.js';
export { DEFAULT_EXPIRY_GRACE } from './sessions/session-store.js';
export type { ArgumentsCheck } from './tools/parameter-arguments.js';
export { ToolRegistry } from './tools/tool-registry.js';
export type {
  ApprovalPredicate,
  ApprovalRequirement,
  AuthenticatedUser,
  DocumentationOptions,
  ExecutionContext,
  JsonSchemaToolConfig,
  ParameterDef,
  ToolDefinition,
  ToolHandler,
  ZodToolConfig,
} from './tools/tool-types.js';

// --- catalog ---
export type {
  CatalogAction,
  CatalogChange,
  CatalogResponse,
  CatalogService,
  CatalogServiceKind,
  CatalogServiceStatus,
} from '@enclave-vm/types';
export type {
  CatalogChangeListener,
  CatalogHandlerOptions,
  CatalogRoute,
} from './catalog/catalog-handler.js';
export { CatalogHandler } from './catalog/catalog-handler.js';
export type {
  OpenApiOperationFilter,
  OpenApiOperationInfo,
  OpenApiSourceConfig,
} from './catalog/open-api-source-config.js';
export { DEFAULT_POLL_INTERVAL, DEFAULT_SOURCE_TIMEOUT } from './catalog/resolve-source-config.js';

// --- mcp ---
export type {
  McpApprovalRequirement,
  McpHttpServerConfig,
  McpServerConfig,
  McpStdioServerConfig,
  McpToolInfo,
} from './mcp/mcp-server-config.js';
export { DEFAULT_MCP_TIMEOUT } from './mcp/resolve-mcp-server-config.js';

// --- declarations ---
export type { DeclarationsResponse } from '@enclave-vm/types';

// --- http ---
export type { CreateBrokerAppOptions } from './http/create-broker-app.js';
export { createBrokerApp } from './http/create-broker-app.js';
export type { EnclaveBrokerPluginOptions } from './http/enclave-broker-plugin.js';
export { enclaveBrokerPlugin } from './http/enclave-broker-plugin.js';

// --- runtimes ---
export type {
  RuntimeGroupEventMap,
  RuntimeGroupOptions,
  RuntimeReconnectOptions,
  RuntimeWorkerStatus,
} from './runtimes/runtime-group.js';
export { DEFAULT_RUNTIME_RECONNECT_OPTIONS, RuntimeGroup } from './runtimes/runtime-group.js';
export type { RuntimeProcessPoolOptions, RuntimeProcessStatus } from './runtimes/runtime-process-pool.js';
export { RuntimeProcessPool } from './runtimes/runtime-process-pool.js';
