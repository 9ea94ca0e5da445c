import { describe, expect, it } from 'vitest';
import { EnclaveError, toEnclaveError } from '../src/enclave-error.js';
import { ERROR_CODES, ErrorCodeSchema, getErrorCodeInfo, isErrorCode } from '../src/error-codes.js';

describe('error-code table', () => {
  it('gives every code a description, an HTTP status and retryability', () => {
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^[A-Z][A-Z_]+$/);
      expect(info.description.length).toBeGreaterThan(10);
      expect(info.httpStatus).toBeGreaterThanOrEqual(400);
      expect(info.httpStatus).toBeLessThan(600);
      expect(typeof info.retryable).toBe('boolean');
    }
  });

  it('maps the codes users meet to the statuses they expect', () => {
    expect(getErrorCodeInfo('SESSION_NOT_FOUND').httpStatus).toBe(404);
    expect(getErrorCodeInfo('UNAUTHORIZED').httpStatus).toBe(401);
    expect(getErrorCodeInfo('RATE_LIMITED')).toMatchObject({ httpStatus: 429, retryable: true });
    expect(getErrorCodeInfo('SESSION_LIMIT_REACHED')).toMatchObject({ httpStatus: 429, retryable: true });
    expect(getErrorCodeInfo('VALIDATION_ERROR')).toMatchObject({ httpStatus: 400, retryable: false });
    expect(getErrorCodeInfo('STORE_UNAVAILABLE')).toMatchObject({ httpStatus: 503, retryable: true });
    expect(getErrorCodeInfo('BROKER_LOST')).toMatchObject({ httpStatus: 502, retryable: true });
  });

  it('treats an unknown code as an internal error', () => {
    expect(isErrorCode('FROM_THE_FUTURE')).toBe(false);
    expect(getErrorCodeInfo('FROM_THE_FUTURE')).toBe(ERROR_CODES.INTERNAL_ERROR);
    expect(ErrorCodeSchema.safeParse('FROM_THE_FUTURE').success).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
  });
});

describe('EnclaveError', () => {
  it('carries code, status, retryability and cause', () => {
    const cause = new Error('socket hang up');
    const error = new EnclaveError('RUNTIME_DISCONNECTED', 'lost the runtime', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('RUNTIME_DISCONNECTED');
    expect(error.httpStatus).toBe(502);
    expect(error.retryable).toBe(true);
    expect(error.cause).toBe(cause);
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      code: 'RUNTIME_DISCONNECTED',
      message: 'lost the runtime',
    });
  });

  it('is recognised across copies through its brand', () => {
    const foreign = Object.assign(new Error('x'), { [Symbol.for('@enclave-vm/types/EnclaveError')]: true });
    expect(EnclaveError.isInstance(foreign)).toBe(true);
    expect(EnclaveError.isInstance(new Error('x'))).toBe(false);
    expect(EnclaveError.isInstance(null)).toBe(false);
  });

  it('round-trips through the wire form', () => {
    const error = new EnclaveError('VALIDATION_ERROR', 'bad', { details: [{ path: 'code' }] });
    const back = EnclaveError.fromWire(error.toWire());
    expect(back.code).toBe('VALIDATION_ERROR');
    expect(back.details).toEqual([{ path: 'code' }]);
  });

  it('wraps anything thrown', () => {
    const wrapped = toEnclaveError(new TypeError('boom'));
    expect(wrapped.code).toBe('INTERNAL_ERROR');
    expect(wrapped.message).toBe('boom');
    expect(wrapped.cause).toBeInstanceOf(TypeError);
    expect(toEnclaveError('text', 'TOOL_ERROR').code).toBe('TOOL_ERROR');
    const coded = Object.assign(new Error('late'), { code: 'TOOL_TIMEOUT' });
    expect(toEnclaveError(coded).code).toBe('TOOL_TIMEOUT');
    const same = new EnclaveError('CANCELLED', 'stop');
    expect(toEnclaveError(same)).toBe(same);
  });
});
