import { EnclaveError } from '@enclave-vm/types';

/** Redirects followed at most per request. */
const MAX_REDIRECTS = 5;

/** One HTTP request of the catalog: a document fetch or an operation call. */
export interface OriginBoundRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
  /** Aborts the request (tool timeout, cancel, the source's `timeout`, close). */
  signal: AbortSignal;
  /** Origins the request and its redirects may go to. */
  allowedOrigins: ReadonlySet<string>;
}

/**
 * Sends a request that may only reach the allowed origins: redirects are followed by hand (at most
 * five), and one that leads elsewhere is refused with `FORBIDDEN` before anything is sent there, so
 * neither the request nor its headers (credentials) ever leave the service's origins. A 303, or a
 * 301/302 of a request other than GET/HEAD, continues as a GET without a body, as browsers do.
 * Network failures reject with `UPSTREAM_UNAVAILABLE`; an abort rejects with the signal's reason.
 */
export async function fetchWithinOrigins(request: OriginBoundRequest): Promise<Response> {
  let { method, url, body } = request;
  for (let redirects = 0; ; redirects++) {
    if (!request.allowedOrigins.has(url.origin)) {
      throw new EnclaveError(
        'FORBIDDEN',
        `${method} ${url.origin}${url.pathname} refused: ${url.origin} is not an allowed origin of this service`,
        { details: { origin: url.origin } },
      );
    }
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: request.headers,
        ...(body === undefined ? {} : { body }),
        redirect: 'manual',
        signal: request.signal,
      });
    } catch (error) {
      if (request.signal.aborted) throw abortReason(request.signal);
      throw new EnclaveError(
        'UPSTREAM_UNAVAILABLE',
        `${method} ${url.origin}${url.pathname} failed: ${describeNetworkError(error)}`,
        { cause: error },
      );
    }
    const location = response.headers.get('location');
    if (response.status < 300 || response.status > 399 || response.status === 304 || location === null) {
      return response;
    }
    await response.body?.cancel().catch(() => undefined);
    if (redirects === MAX_REDIRECTS) {
      throw new EnclaveError(
        'UPSTREAM_UNAVAILABLE',
        `${request.method} ${request.url.origin}${request.url.pathname} was redirected more than ${MAX_REDIRECTS} times`,
      );
    }
    const status = response.status;
    if (status === 303 || ((status === 301 || status === 302) && method !== 'GET' && method !== 'HEAD')) {
      method = 'GET';
      body = undefined;
    }
    url = new URL(location, url);
  }
}

/**
 * Reads a response body as text, refusing more than `maxBytes` (the stream is cancelled there).
 * Rejects with `errorCode` naming the limit, or with the signal's reason when aborted.
 */
export async function readLimitedText(
  response: Response,
  maxBytes: number,
  what: string,
  errorCode: 'TOOL_RESULT_TOO_LARGE' | 'OPENAPI_INVALID',
  signal: AbortSignal,
): Promise<string> {
  if (response.body === null) return '';
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body.cancel().catch(() => undefined);
    throw tooLarge(what, maxBytes, errorCode);
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge(what, maxBytes, errorCode);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (signal.aborted) throw abortReason(signal);
    if (EnclaveError.isInstance(error)) throw error;
    throw new EnclaveError(
      'UPSTREAM_UNAVAILABLE',
      `${what}: the answer broke off: ${describeNetworkError(error)}`,
      {
        cause: error,
      },
    );
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/** The reason an aborted signal carries, as an `EnclaveError`. */
export function abortReason(signal: AbortSignal): EnclaveError {
  const reason: unknown = signal.reason;
  if (EnclaveError.isInstance(reason)) return reason;
  if (reason instanceof DOMException && reason.name === 'TimeoutError') {
    return new EnclaveError('TOOL_TIMEOUT', 'The request timed out', { cause: reason });
  }
  return new EnclaveError('CANCELLED', 'The request was cancelled', { cause: reason });
}

function tooLarge(
  what: string,
  maxBytes: number,
  code: 'TOOL_RESULT_TOO_LARGE' | 'OPENAPI_INVALID',
): EnclaveError {
  return new EnclaveError(code, `${what}: the answer is larger than ${maxBytes} bytes`);
}

/** Node's fetch hides the reason (ECONNREFUSED, …) in `cause`. */
function describeNetworkError(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause;
    if (cause instanceof Error) {
      const code = (cause as { code?: unknown }).code;
      return typeof code === 'string' ? `${code} (${cause.message})` : cause.message;
    }
    return error.message;
  }
  return String(error);
}
