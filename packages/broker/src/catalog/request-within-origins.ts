import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { EnclaveError } from '@enclave-vm/types';
import { abortReason } from './abort-reason.js';
import type { HttpAgents } from './http-agents.js';

/** Redirects followed at most per request. */
const MAX_REDIRECTS = 5;

/** One HTTP request of the catalog: a document fetch or an operation call. */
export interface OriginBoundRequest {
  method: string;
  url: URL;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body?: string;
  /** Aborts the request (tool timeout, cancel, the source's `timeout`, close). */
  signal: AbortSignal;
  /** Origins the request and its redirects may go to. */
  allowedOrigins: ReadonlySet<string>;
  /** The source's connection pools. */
  agents: HttpAgents;
}

/** An answer whose body has not been read yet. */
export interface OriginBoundAnswer {
  status: number;
  statusText: string;
  /** A response header (last value when repeated), or `undefined`. */
  header(name: string): string | undefined;
  /**
   * Reads the body as UTF-8 text, refusing more than `maxBytes` (the connection is dropped there):
   * rejects with `errorCode`, or with the signal's reason when aborted.
   */
  readText(
    maxBytes: number,
    what: string,
    errorCode: 'TOOL_RESULT_TOO_LARGE' | 'OPENAPI_INVALID',
  ): Promise<string>;
  /** Drops the body unread. */
  discard(): void;
}

/**
 * Sends a request that may only reach the allowed origins, over the source's keep-alive pools
 * (`node:http` / `node:https`). Redirects are followed by hand (at most five), and one that leads
 * elsewhere is refused with `FORBIDDEN` before anything is sent there, so neither the request nor its
 * headers (credentials) ever leave the service's origins. A 303, or a 301/302 of a request other
 * than GET/HEAD, continues as a GET without a body, as browsers do. Network failures reject with
 * `UPSTREAM_UNAVAILABLE`; an abort rejects with the signal's reason.
 */
export async function requestWithinOrigins(request: OriginBoundRequest): Promise<OriginBoundAnswer> {
  let { method, url, body } = request;
  for (let redirects = 0; ; redirects++) {
    if (!request.allowedOrigins.has(url.origin)) {
      throw new EnclaveError(
        'FORBIDDEN',
        `${method} ${url.origin}${url.pathname} refused: ${url.origin} is not an allowed origin of this service`,
        { details: { origin: url.origin } },
      );
    }
    const headers =
      body === undefined
        ? request.headers
        : { ...request.headers, 'content-length': String(Buffer.byteLength(body)) };
    const response = await send(method, url, headers, body, request);
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (status < 300 || status > 399 || status === 304 || location === undefined) {
      return answerOf(response, request.signal);
    }
    response.resume();
    if (redirects === MAX_REDIRECTS) {
      throw new EnclaveError(
        'UPSTREAM_UNAVAILABLE',
        `${request.method} ${request.url.origin}${request.url.pathname} was redirected more than ${MAX_REDIRECTS} times`,
      );
    }
    if (status === 303 || ((status === 301 || status === 302) && method !== 'GET' && method !== 'HEAD')) {
      method = 'GET';
      body = undefined;
    }
    url = new URL(location, url);
  }
}

function send(
  method: string,
  url: URL,
  headers: Record<string, string>,
  body: string | undefined,
  request: OriginBoundRequest,
): Promise<IncomingMessage> {
  const { signal } = request;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    const open = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const outgoing = open(url, { method, headers, agent: request.agents.for(url), signal }, resolve);
    outgoing.on('error', (error) => {
      if (signal.aborted) {
        reject(abortReason(signal));
        return;
      }
      reject(
        new EnclaveError(
          'UPSTREAM_UNAVAILABLE',
          `${method} ${url.origin}${url.pathname} failed: ${describeNetworkError(error)}`,
          {
            cause: error,
          },
        ),
      );
    });
    outgoing.end(body);
  });
}

function answerOf(response: IncomingMessage, signal: AbortSignal): OriginBoundAnswer {
  return {
    status: response.statusCode ?? 0,
    statusText: response.statusMessage ?? '',
    header(name) {
      const value = response.headers[name.toLowerCase()];
      return Array.isArray(value) ? value.at(-1) : value;
    },
    readText(maxBytes, what, errorCode) {
      const declared = Number(response.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) {
        response.destroy();
        return Promise.reject(
          new EnclaveError(errorCode, `${what}: the answer is larger than ${maxBytes} bytes`),
        );
      }
      return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.byteLength;
          if (size > maxBytes) {
            response.destroy();
            reject(new EnclaveError(errorCode, `${what}: the answer is larger than ${maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () => resolve(Buffer.concat(chunks, size).toString('utf8')));
        response.on('error', (error) => {
          if (signal.aborted) reject(abortReason(signal));
          else {
            reject(
              new EnclaveError(
                'UPSTREAM_UNAVAILABLE',
                `${what}: the answer broke off: ${describeNetworkError(error)}`,
                {
                  cause: error,
                },
              ),
            );
          }
        });
        response.on('close', () => {
          if (response.complete) return;
          reject(
            signal.aborted
              ? abortReason(signal)
              : new EnclaveError('UPSTREAM_UNAVAILABLE', `${what}: the answer broke off`),
          );
        });
      });
    },
    discard() {
      response.resume();
    },
  };
}

/** The reason of a network failure, with its code (ECONNREFUSED, …) first. */
function describeNetworkError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code} (${error.message})` : error.message;
  }
  return String(error);
}
