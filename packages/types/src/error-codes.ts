import { z } from 'zod';

/** What one error code means, how it maps to HTTP and whether repeating the request can help. */
export interface ErrorCodeInfo {
  /** One sentence a person can read. */
  readonly description: string;
  /** HTTP status a route answers with when this error ends the request. */
  readonly httpStatus: number;
  /** Whether the same request may succeed if sent again later (clients retry only these). */
  readonly retryable: boolean;
}

/**
 * The one table of error codes used by every EnclaveJS package: in `error` and `final` events,
 * in HTTP error bodies and in runtime-channel messages.
 */
export const ERROR_CODES = {
  // Requests
  BAD_REQUEST: {
    description: 'The request is malformed (invalid JSON or wrong shape).',
    httpStatus: 400,
    retryable: false,
  },
  VALIDATION_ERROR: {
    description: 'A field of the request failed validation.',
    httpStatus: 400,
    retryable: false,
  },
  PAYLOAD_TOO_LARGE: {
    description: 'The request body is larger than the server accepts.',
    httpStatus: 413,
    retryable: false,
  },
  UNSUPPORTED_MEDIA_TYPE: { description: 'The request body is not JSON.', httpStatus: 415, retryable: false },
  UNAUTHORIZED: { description: 'Credentials are missing or invalid.', httpStatus: 401, retryable: false },
  FORBIDDEN: {
    description: 'The credentials do not allow this operation.',
    httpStatus: 403,
    retryable: false,
  },
  NOT_FOUND: { description: 'No such route.', httpStatus: 404, retryable: false },
  METHOD_NOT_ALLOWED: {
    description: 'The route does not accept this method.',
    httpStatus: 405,
    retryable: false,
  },
  RATE_LIMITED: { description: 'Too many requests in the current window.', httpStatus: 429, retryable: true },
  // Sessions
  SESSION_NOT_FOUND: {
    description: 'No session with this id is visible to the caller.',
    httpStatus: 404,
    retryable: false,
  },
  SESSION_LIMIT_REACHED: {
    description: 'The maximum number of concurrent sessions is running.',
    httpStatus: 429,
    retryable: true,
  },
  SESSION_ENDED: { description: 'The session has already ended.', httpStatus: 409, retryable: false },
  SESSION_EXPIRED: { description: 'The session passed its expiry time.', httpStatus: 410, retryable: false },
  EVENT_LOG_TRUNCATED: {
    description: 'The requested events were dropped from the bounded event log.',
    httpStatus: 410,
    retryable: false,
  },
  CANCELLED: { description: 'The session was cancelled.', httpStatus: 409, retryable: false },
  // Tool calls
  TOOL_NOT_FOUND: { description: 'No tool with this name is available.', httpStatus: 404, retryable: false },
  TOOL_CALL_NOT_FOUND: {
    description: 'The session has no pending tool call with this id.',
    httpStatus: 404,
    retryable: false,
  },
  TOOL_CALL_ALREADY_ANSWERED: {
    description: 'This tool call already has a result.',
    httpStatus: 409,
    retryable: false,
  },
  TOOL_VALIDATION_ERROR: {
    description: 'The tool arguments failed the tool schema.',
    httpStatus: 400,
    retryable: false,
  },
  TOOL_ERROR: { description: 'The tool handler failed.', httpStatus: 502, retryable: false },
  TOOL_TIMEOUT: {
    description: 'The tool did not answer within the per-tool timeout.',
    httpStatus: 504,
    retryable: true,
  },
  TOOL_CALL_LIMIT_EXCEEDED: {
    description: 'The code made more tool calls than allowed.',
    httpStatus: 429,
    retryable: false,
  },
  TOOL_ARGS_TOO_LARGE: {
    description: 'Serialized tool arguments exceed the limit.',
    httpStatus: 413,
    retryable: false,
  },
  TOOL_RESULT_TOO_LARGE: {
    description: 'A serialized tool result exceeds the limit.',
    httpStatus: 413,
    retryable: false,
  },
  // Approval gates
  APPROVAL_DENIED: {
    description: 'A person denied the tool call, which needed approval; the tool did not run.',
    httpStatus: 403,
    retryable: false,
  },
  APPROVAL_TIMEOUT: {
    description:
      'No decision on the tool call, which needed approval, arrived within the approval timeout; the tool did not run.',
    httpStatus: 504,
    retryable: true,
  },
  APPROVAL_NOT_FOUND: {
    description: 'The session has no tool call waiting for approval with this id.',
    httpStatus: 404,
    retryable: false,
  },
  APPROVAL_ALREADY_RESOLVED: {
    description: 'The approval of this tool call was already decided, or timed out.',
    httpStatus: 409,
    retryable: false,
  },
  // Services behind tools (OpenAPI actions, MCP servers)
  UPSTREAM_CLIENT_ERROR: {
    description:
      'The HTTP service behind a tool refused the request with a 4xx status (details.status); sending it again will not help.',
    httpStatus: 502,
    retryable: false,
  },
  UPSTREAM_UNAVAILABLE: {
    description:
      'The HTTP service behind a tool could not be reached, or answered 5xx, 408 or 429 (details.status).',
    httpStatus: 502,
    retryable: true,
  },
  TOOL_SOURCE_UNAVAILABLE: {
    description:
      'The source a tool comes from (an MCP server) is not connected, so the call was not sent; the broker is reconnecting.',
    httpStatus: 503,
    retryable: true,
  },
  OPENAPI_INVALID: {
    description:
      'An OpenAPI document cannot be used: it does not parse, is not valid OpenAPI, or sends calls to an origin that is not allowed.',
    httpStatus: 502,
    retryable: false,
  },
  // Execution
  SYNTAX_ERROR: { description: 'The code does not parse.', httpStatus: 400, retryable: false },
  EXECUTION_ERROR: { description: 'The code threw an uncaught error.', httpStatus: 422, retryable: false },
  EXECUTION_TIMEOUT: {
    description: 'The code ran past its wall-clock timeout.',
    httpStatus: 408,
    retryable: false,
  },
  CPU_LIMIT_EXCEEDED: {
    description: 'The code used more CPU time than allowed.',
    httpStatus: 408,
    retryable: false,
  },
  MEMORY_LIMIT_EXCEEDED: {
    description: 'The code used more memory than its sandbox allows.',
    httpStatus: 507,
    retryable: false,
  },
  STACK_OVERFLOW: {
    description: 'The code recursed deeper than the stack limit.',
    httpStatus: 422,
    retryable: false,
  },
  STDOUT_LIMIT_EXCEEDED: {
    description: 'The code wrote more console output than allowed.',
    httpStatus: 413,
    retryable: false,
  },
  RESULT_TOO_LARGE: {
    description: 'The serialized result exceeds the limit.',
    httpStatus: 413,
    retryable: false,
  },
  RESULT_NOT_SERIALIZABLE: {
    description: 'The result cannot be represented as JSON.',
    httpStatus: 422,
    retryable: false,
  },
  JSON_TOO_DEEP: {
    description:
      'A value crossing the sandbox boundary (tool arguments, a tool result, the result, the context) is nested deeper than 512 levels.',
    httpStatus: 422,
    retryable: false,
  },
  // Runtime and infrastructure
  RUNTIME_UNAVAILABLE: {
    description: 'No runtime worker can take the session.',
    httpStatus: 503,
    retryable: true,
  },
  RUNTIME_DISCONNECTED: {
    description: 'The runtime running the session was lost.',
    httpStatus: 502,
    retryable: true,
  },
  WORKER_CRASHED: {
    description: 'The sandbox thread running the session died.',
    httpStatus: 500,
    retryable: true,
  },
  SHUTTING_DOWN: { description: 'The server is shutting down.', httpStatus: 503, retryable: true },
  BROKER_LOST: {
    description:
      'The broker running the session stopped renewing its lease; another broker ended the session.',
    httpStatus: 502,
    retryable: true,
  },
  STORE_UNAVAILABLE: {
    description: 'The shared session store (Redis) cannot be reached; try again shortly.',
    httpStatus: 503,
    retryable: true,
  },
  PROTOCOL_ERROR: {
    description: 'A message does not follow the protocol.',
    httpStatus: 400,
    retryable: false,
  },
  PROTOCOL_VERSION_MISMATCH: {
    description: 'The peer speaks an incompatible protocol version.',
    httpStatus: 400,
    retryable: false,
  },
  CONFIGURATION_ERROR: {
    description: 'The component was configured with invalid options.',
    httpStatus: 500,
    retryable: false,
  },
  INTERNAL_ERROR: { description: 'An unexpected error occurred.', httpStatus: 500, retryable: false },
  // Stream layer
  DECODE_ERROR: { description: 'A stream line is not valid JSON.', httpStatus: 400, retryable: false },
  LINE_TOO_LONG: {
    description: 'A stream line exceeds the maximum line size.',
    httpStatus: 413,
    retryable: false,
  },
  ENCRYPTION_ERROR: {
    description: 'A message failed decryption or authentication.',
    httpStatus: 400,
    retryable: false,
  },
  CONNECTION_CLOSED: {
    description: 'The connection closed before the stream ended.',
    httpStatus: 503,
    retryable: true,
  },
  RECONNECT_FAILED: {
    description: 'Reconnection gave up after the maximum attempts.',
    httpStatus: 503,
    retryable: false,
  },
  HEARTBEAT_TIMEOUT: {
    description: 'No message arrived within the heartbeat timeout.',
    httpStatus: 504,
    retryable: true,
  },
} as const satisfies Record<string, ErrorCodeInfo>;

/** Every error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Zod schema accepting exactly the codes of {@link ERROR_CODES}. */
export const ErrorCodeSchema = z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]);

/** Whether a string is one of the known error codes. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/**
 * Looks up a code's meaning, HTTP status and retryability. Unknown codes (from a newer peer)
 * are treated as {@link ERROR_CODES.INTERNAL_ERROR}.
 */
export function getErrorCodeInfo(code: string): ErrorCodeInfo {
  return isErrorCode(code) ? ERROR_CODES[code] : ERROR_CODES.INTERNAL_ERROR;
}
