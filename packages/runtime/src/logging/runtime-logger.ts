/** Structured fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/**
 * Where the runtime worker and its connections report what they do. Compatible with `console`,
 * pino and most structured loggers (message first, optional fields second).
 */
export interface RuntimeLogger {
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
export const silentLogger: RuntimeLogger = Object.freeze({
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
});

/** Options of {@link createConsoleLogger}. */
export interface ConsoleLoggerOptions {
  /** Prefix of every line. @default 'enclave-runtime' */
  name?: string;
  /** Whether `debug` lines are written. @default false */
  verbose?: boolean;
  /** Writes one finished line (without newline) at a level. @default console.log for info, console.error otherwise */
  write?: (level: 'debug' | 'info' | 'warn' | 'error', line: string) => void;
}

/**
 * A logger writing one line per entry, `name level: message {"field":...}`: what the
 * `enclave-runtime` CLI uses.
 */
export function createConsoleLogger(options: ConsoleLoggerOptions = {}): RuntimeLogger {
  const name = options.name ?? 'enclave-runtime';
  const write =
    options.write ??
    ((level, line) => {
      if (level === 'info') console.log(line);
      else console.error(line);
    });
  const log =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, fields?: LogFields): void => {
      const suffix = fields === undefined || Object.keys(fields).length === 0 ? '' : ` ${safeJson(fields)}`;
      write(level, `${name} ${level}: ${message}${suffix}`);
    };
  return {
    debug: options.verbose === true ? log('debug') : ignore,
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
  };
}

function safeJson(fields: LogFields): string {
  try {
    return JSON.stringify(fields);
  } catch {
    return '{"fields":"(not serializable)"}';
  }
}
