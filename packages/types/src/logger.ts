/** Structured fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/**
 * Where a package reports what it does: the broker's `logger` option, the runtime worker's and the
 * runtime connection's. `console` fits, and so do pino and most structured loggers (message first,
 * optional fields second).
 */
export interface Logger {
  /** Detail useful when debugging (each connection, each rejected message). */
  debug(message: string, fields?: LogFields): void;
  /** Lifecycle: listening, stopped. */
  info(message: string, fields?: LogFields): void;
  /** Something a peer did wrong, or a connection lost. */
  warn(message: string, fields?: LogFields): void;
  /** Something this process did wrong. */
  error(message: string, fields?: LogFields): void;
}

function ignore(): void {}

/** A logger that discards everything: the default of library components. */
export const silentLogger: Logger = Object.freeze({
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
});
