import type { EnclaveError, ErrorResponse, Logger } from '@enclave-vm/types';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toHttpError } from './to-http-error.js';

/**
 * Answers a request with the broker's error body `{ error: { code, message, retryable, details? } }`
 * and the status the error-code table gives the code. Server-side failures (5xx) are logged; a
 * response whose headers already went out (a stream) is ended instead.
 */
export function sendError(reply: FastifyReply, value: unknown, logger?: Logger): void {
  const error = toHttpError(value);
  const status = error.httpStatus;
  if (status >= 500) {
    const cause = error.cause === undefined ? error : error.cause;
    logger?.error('Request failed', {
      code: error.code,
      method: reply.request.method,
      url: reply.request.url,
      error: cause instanceof Error ? cause.message : String(cause),
    });
  }
  if (reply.sent || reply.raw.headersSent) {
    if (!reply.raw.writableEnded) reply.raw.end();
    return;
  }
  if ((status === 429 || status === 503) && !reply.hasHeader('retry-after')) reply.header('retry-after', '1');
  reply.code(status).type('application/json; charset=utf-8').send(errorBody(error));
}

/** The JSON body of an error answer. */
export function errorBody(error: EnclaveError): ErrorResponse {
  const body: ErrorResponse = {
    error: { code: error.code, message: error.message, retryable: error.retryable },
  };
  if (error.details !== undefined) body.error.details = error.details;
  return body;
}

/**
 * Fastify's `frameworkErrors` hook: errors raised before a route is found (malformed URL encoding,
 * a route parameter longer than `maxParamLength`) get the broker's error body too.
 */
export function handleFrameworkError(error: Error, _request: FastifyRequest, reply: FastifyReply): void {
  sendError(reply, error);
}
