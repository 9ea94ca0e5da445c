import type { Logger } from '../options/broker-options.js';

/**
 * Where the HTTP layer reports server-side failures when `BrokerOptions.logger` is not set: warnings
 * and errors to the console, the rest dropped (the broker's own default does the same).
 */
export const consoleErrorLogger: Logger = Object.freeze({
  debug(): void {},
  info(): void {},
  warn(message: string, data?: Record<string, unknown>): void {
    console.warn(`[enclave-broker http] ${message}`, data ?? '');
  },
  error(message: string, data?: Record<string, unknown>): void {
    console.error(`[enclave-broker http] ${message}`, data ?? '');
  },
});
