import { EnclaveError, type ErrorCode } from '@enclave-vm/types';

/** Fastify's own error codes that describe a bad request, and the broker code each becomes. */
const FASTIFY_ERROR_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_BAD_URL: 'BAD_REQUEST',
  // The broker's only route parameters are session ids, and an id too long to route is not a session.
  FST_ERR_MAX_PARAM_LENGTH: 'SESSION_NOT_FOUND',
};

/** Other 4xx statuses fastify or a plugin may set, and the broker code each becomes. */
const STATUS_ERROR_CODES: Readonly<Record<number, ErrorCode>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
};

/** What an unexpected server-side failure says to the client; the real error goes to the log. */
const INTERNAL_MESSAGE = 'Internal server error';

/**
 * Turns anything a route, hook or fastify itself threw into the {@link EnclaveError} the client
 * receives. EnclaveErrors pass through; fastify's request errors (bad JSON, body too large, wrong
 * content type) get their table code; anything else is an `INTERNAL_ERROR` whose message does not
 * leak server details (the original is kept as `cause`).
 */
export function toHttpError(value: unknown): EnclaveError {
  if (EnclaveError.isInstance(value)) return value;
  if (!(value instanceof Error))
    return new EnclaveError('INTERNAL_ERROR', INTERNAL_MESSAGE, { cause: value });
  const fields = value as Error & { code?: unknown; statusCode?: unknown };
  const mapped = typeof fields.code === 'string' ? FASTIFY_ERROR_CODES[fields.code] : undefined;
  if (mapped !== undefined) return new EnclaveError(mapped, describe(mapped, value), { cause: value });
  const status = typeof fields.statusCode === 'number' ? fields.statusCode : 500;
  if (status >= 400 && status < 500) {
    const code = STATUS_ERROR_CODES[status] ?? 'BAD_REQUEST';
    return new EnclaveError(code, describe(code, value), { cause: value });
  }
  return new EnclaveError('INTERNAL_ERROR', INTERNAL_MESSAGE, { cause: value });
}

function describe(code: ErrorCode, error: Error): string {
  switch (code) {
    case 'UNSUPPORTED_MEDIA_TYPE':
      return 'Request bodies must be JSON (content-type: application/json)';
    case 'SESSION_NOT_FOUND':
      return 'Session not found';
    case 'BAD_REQUEST':
      if ((error as { code?: unknown }).code === 'FST_ERR_BAD_URL')
        return 'Malformed percent-encoding in the URL path';
      if (error instanceof SyntaxError) return `Malformed JSON body: ${error.message}`;
      return error.message;
    default:
      return error.message;
  }
}
