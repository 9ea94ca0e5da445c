import { EnclaveError, type ErrorCode, ErrorResponseSchema, validate } from '@enclave-vm/types';

/**
 * Codes for answers whose body is not the broker's error body (a proxy's page, an empty body). A
 * gateway or timeout status means the broker was not reached: `CONNECTION_CLOSED`, retryable.
 */
const CODE_BY_STATUS: Readonly<Record<number, ErrorCode>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  408: 'CONNECTION_CLOSED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  502: 'CONNECTION_CLOSED',
  503: 'CONNECTION_CLOSED',
  504: 'CONNECTION_CLOSED',
};

/**
 * Turns a broker's error answer into an {@link EnclaveError}: the code, message and details of its
 * `{ error: { code, message, retryable, details? } }` body, or, for a body of another shape, a code
 * chosen from the HTTP status. `details.status` always holds the HTTP status, and
 * `details.retryAfterMs` the `Retry-After` header when there was one.
 */
export async function errorFromResponse(response: Response, what: string): Promise<EnclaveError> {
  let body: unknown;
  let text = '';
  try {
    text = await response.text();
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
  const parsed = validate(ErrorResponseSchema, body);
  if (parsed.success) {
    const { code, message, details } = parsed.data.error;
    return new EnclaveError(code, message, {
      details: { ...asObject(details), status: response.status, ...retryAfter(retryAfterMs) },
    });
  }
  const code = CODE_BY_STATUS[response.status] ?? (response.status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST');
  const excerpt = text.trim().slice(0, 200);
  return new EnclaveError(
    code,
    `${what} failed with HTTP ${response.status}${excerpt === '' ? '' : `: ${excerpt}`}`,
    { details: { status: response.status, ...retryAfter(retryAfterMs) } },
  );
}

/** The `Retry-After` header (seconds or an HTTP date) in ms, or undefined. */
function parseRetryAfter(header: string | null): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function retryAfter(milliseconds: number | undefined): { retryAfterMs?: number } {
  return milliseconds === undefined ? {} : { retryAfterMs: milliseconds };
}

function asObject(details: unknown): Record<string, unknown> {
  return typeof details === 'object' && details !== null && !Array.isArray(details)
    ? (details as Record<string, unknown>)
    : details === undefined
      ? {}
      : { value: details };
}
