export type {
  CatalogAction,
  CatalogChange,
  CatalogResponse,
  CatalogService,
  CatalogServiceKind,
  CatalogServiceStatus,
  DeclarationsResponse,
} from './catalog.js';
export {
  CatalogActionSchema,
  CatalogChangeSchema,
  CatalogResponseSchema,
  CatalogServiceKindSchema,
  CatalogServiceSchema,
  CatalogServiceStatusSchema,
  DeclarationsResponseSchema,
} from './catalog.js';
export type { Emitter, Unsubscribe } from './emitter.js';
export type { EnclaveErrorOptions } from './enclave-error.js';
export { EnclaveError, toEnclaveError } from './enclave-error.js';
export type { ErrorCode, ErrorCodeInfo } from './error-codes.js';
export { ERROR_CODES, ErrorCodeSchema, getErrorCodeInfo, isErrorCode } from './error-codes.js';
export type {
  ApprovalDecider,
  ApprovalRequiredEvent,
  ApprovalRequiredPayload,
  ApprovalResolvedEvent,
  ApprovalResolvedPayload,
  CatalogChangedEvent,
  CatalogChangedPayload,
  EncryptedEvent,
  EncryptionParams,
  ErrorEvent,
  ErrorPayload,
  EventPayloadMap,
  EventType,
  ExecutionStats,
  FinalEvent,
  FinalPayload,
  HeartbeatEvent,
  HeartbeatPayload,
  LogEvent,
  LogLevel,
  LogPayload,
  SessionInitEvent,
  SessionInitPayload,
  StdoutEvent,
  StdoutPayload,
  StreamEvent,
  ToolAnswerer,
  ToolCallEvent,
  ToolCallPayload,
  ToolResultAppliedEvent,
  ToolResultAppliedPayload,
  WireEvent,
} from './events.js';
export {
  ApprovalDeciderSchema,
  ApprovalRequiredEventSchema,
  ApprovalRequiredPayloadSchema,
  ApprovalResolvedEventSchema,
  ApprovalResolvedPayloadSchema,
  CatalogChangedEventSchema,
  CatalogChangedPayloadSchema,
  createEvent,
  EncryptedEventSchema,
  EncryptionParamsSchema,
  ErrorEventSchema,
  ErrorPayloadSchema,
  EVENT_TYPES,
  EventTypeSchema,
  ExecutionStatsSchema,
  FinalEventSchema,
  FinalPayloadSchema,
  HeartbeatEventSchema,
  HeartbeatPayloadSchema,
  LogEventSchema,
  LogLevelSchema,
  LogPayloadSchema,
  MAX_APPROVAL_REASON_LENGTH,
  SessionInitEventSchema,
  SessionInitPayloadSchema,
  StdoutEventSchema,
  StdoutPayloadSchema,
  StreamEventSchema,
  ToolAnswererSchema,
  ToolCallEventSchema,
  ToolCallPayloadSchema,
  ToolResultAppliedEventSchema,
  ToolResultAppliedPayloadSchema,
  WireEventSchema,
} from './events.js';
export type {
  ApprovalDecisionRequest,
  ApprovalDecisionResponse,
  CancelSessionResponse,
  ErrorResponse,
  EventFilter,
  ExecuteRequest,
  HealthResponse,
  ResumeQuery,
  SealedMessagePayload,
  SessionInfo,
  SessionStatus,
  ToolResultRequest,
  ToolResultResponse,
} from './http.js';
export {
  ApprovalDecisionRequestSchema,
  ApprovalDecisionResponseSchema,
  CancelSessionResponseSchema,
  EncryptionRequestSchema,
  ErrorResponseSchema,
  EventFilterSchema,
  ExecuteRequestSchema,
  HealthResponseSchema,
  MAX_CODE_LENGTH,
  ResumeQuerySchema,
  SealedMessageSchema,
  SessionInfoSchema,
  SessionStatusSchema,
  ToolErrorBodySchema,
  ToolResultRequestSchema,
  ToolResultResponseSchema,
} from './http.js';
export { CallIdSchema, SessionIdSchema, ToolNameSchema } from './ids.js';
export type { SecurityLevel, SessionLimits, SessionLimitsOverride } from './limits.js';
export {
  DEFAULT_SECURITY_LEVEL,
  resolveLimits,
  SECURITY_LEVELS,
  SecurityLevelSchema,
  SessionLimitsOverrideSchema,
  SessionLimitsSchema,
} from './limits.js';
export type { LogFields, Logger } from './logger.js';
export { silentLogger } from './logger.js';
export type { ProtocolVersion } from './protocol-version.js';
export { PROTOCOL_VERSION } from './protocol-version.js';
export type {
  BrokerToRuntimeMessage,
  CancelMessage,
  ChannelErrorMessage,
  EventsMessage,
  ExecuteMessage,
  HelloMessage,
  LoadMessage,
  PingMessage,
  PongMessage,
  RuntimeEvent,
  RuntimeToBrokerMessage,
  ToolResultMessage,
} from './runtime-channel.js';
export {
  BrokerToRuntimeMessageSchema,
  CancelMessageSchema,
  ChannelErrorMessageSchema,
  EventsMessageSchema,
  ExecuteMessageSchema,
  HelloMessageSchema,
  LoadMessageSchema,
  PingMessageSchema,
  PongMessageSchema,
  RuntimeEventSchema,
  RuntimeToBrokerMessageSchema,
  ToolResultMessageSchema,
} from './runtime-channel.js';
export type { StreamErrorMessage, SubscribeMessage } from './stream-subscription.js';
export { StreamErrorMessageSchema, SubscribeMessageSchema } from './stream-subscription.js';
export type { ValidationResult } from './validation.js';
export { formatIssues, validate } from './validation.js';
export type { WireError } from './wire-error.js';
export { WireErrorSchema } from './wire-error.js';
