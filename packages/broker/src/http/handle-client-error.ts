import type { Socket } from 'node:net';
import { EnclaveError } from '@enclave-vm/types';
import { errorBody } from './send-error.js';

/**
 * Fastify's `clientErrorHandler`: bytes Node's HTTP parser rejects (a malformed request line, a body
 * without a length, headers over the size limit, a request not received in time) are answered with
 * the broker's error body before the connection is closed, like every other refusal.
 */
export function handleClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  let refusal: EnclaveError;
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    refusal = new EnclaveError('PAYLOAD_TOO_LARGE', 'Request headers are too large');
  } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    refusal = new EnclaveError('BAD_REQUEST', 'The request was not received in time');
  } else {
    refusal = new EnclaveError('BAD_REQUEST', 'Malformed HTTP request');
  }
  if (socket.writable) {
    const body = JSON.stringify(errorBody(refusal));
    const status = refusal.httpStatus;
    const reason = status === 413 ? 'Payload Too Large' : 'Bad Request';
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
