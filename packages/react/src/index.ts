// Public API of @enclave-vm/react. Named exports only.

export type {
  ApprovalContext,
  ApprovalDecision,
  ApprovalHandler,
  ApprovalRequest,
  ApprovalStatus,
  ClientToolContext,
  ClientToolHandler,
  ClientTools,
  ExecutionOutcome,
  LogEntry,
  SessionState,
  ToolCallApproval,
  ToolCallRecord,
  ToolCallStatus,
} from '@enclave-vm/client';
export type {
  EnclaveProviderClientOptions,
  EnclaveProviderProps,
} from './enclave-provider.js';
export { EnclaveProvider } from './enclave-provider.js';
export type { JsonValue } from './json-value.js';
export { useEnclaveClient } from './use-enclave-client.js';
export type {
  EnclaveExecuteOptions,
  EnclaveSessionCallbacks,
  EnclaveSessionValue,
  UseEnclaveSessionOptions,
} from './use-enclave-session.js';
export { useEnclaveSession } from './use-enclave-session.js';
