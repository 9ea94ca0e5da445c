import { EnclaveError } from '@enclave-vm/types';
import type { RateLimitConfig } from './broker-options.js';

/**
 * Checks `rateLimiting`: positive integer window and budget, a function as key generator. Throws
 * `CONFIGURATION_ERROR`.
 */
export function checkRateLimitConfig(config: RateLimitConfig): void {
  if (typeof config !== 'object' || config === null) {
    throw new EnclaveError(
      'CONFIGURATION_ERROR',
      'rateLimiting must be { windowMs, maxRequests, keyGenerator? }',
    );
  }
  if (!Number.isSafeInteger(config.windowMs) || config.windowMs <= 0) {
    throw new EnclaveError(
      'CONFIGURATION_ERROR',
      `rateLimiting.windowMs must be a positive integer, got ${String(config.windowMs)}`,
    );
  }
  if (!Number.isSafeInteger(config.maxRequests) || config.maxRequests <= 0) {
    throw new EnclaveError(
      'CONFIGURATION_ERROR',
      `rateLimiting.maxRequests must be a positive integer, got ${String(config.maxRequests)}`,
    );
  }
  if (config.keyGenerator !== undefined && typeof config.keyGenerator !== 'function') {
    throw new EnclaveError('CONFIGURATION_ERROR', 'rateLimiting.keyGenerator must be a function');
  }
}
