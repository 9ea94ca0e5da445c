// Public API of @enclave-vm/client. Named exports only.

export type {
  ApprovalDecider,
  ApprovalRequiredPayload,
  ApprovalResolvedPayload,
  CatalogAction,
  CatalogChange,
  CatalogResponse,
  CatalogService,
  CatalogServiceKind,
  CatalogServiceStatus,
  DeclarationsResponse,
  ErrorCode,
  EventFilter,
  ExecutionStats,
  HealthResponse,
  SessionInfo,
  StreamEvent,
  Unsubscribe,
} from '@enclave-vm/types';
// The one error class of EnclaveJS, re-exported so that `catch (error) { if (error instanceof EnclaveError) … }` needs no second import.
export { EnclaveError, ERROR_CODES } from '@enclave-vm/types';
export type {
  ApprovalContext,
  ApprovalDecision,
  ApprovalHandler,
  ApprovalRequest,
} from './approvals/approval-request.js';
export type {
  ClientExecuteOptions,
  ExecuteOptions,
  FollowOptions,
  RequestOptions,
  ResumeOptions,
} from './client-execute-options.js';
export { EnclaveClient } from './enclave-client.js';
export type {
  ClientReconnectOptions,
  ClientTransport,
  EnclaveClientOptions,
  FetchFunction,
  HeadersOption,
  HeaderValues,
} from './enclave-client-options.js';
export { CLIENT_DEFAULTS } from './enclave-client-options.js';
export type { ExecutionOutcome } from './execution-outcome.js';
export type { ExecutionSession } from './execution-session.js';
export type {
  ApprovalStatus,
  LogEntry,
  SessionSnapshot,
  SessionState,
  ToolCallApproval,
  ToolCallRecord,
  ToolCallStatus,
} from './store/session-snapshot.js';
export type { RecordOptions, SessionRecorder, SessionStore } from './store/session-store.js';
export { createSessionStore } from './store/session-store.js';
export type { ClientToolContext, ClientToolHandler, ClientTools } from './tools/client-tool.js';
