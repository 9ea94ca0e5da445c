import type { LogFields, Logger } from '@enclave-vm/types';

/**
 * The logger of the runtime worker and its connections: the `Logger` every package shares.
 *
 * @deprecated Use `Logger` (from `@enclave-vm/types`, also exported by this package).
 */
export type RuntimeLogger = Logger;

function ignore(): void {}

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
export function createConsoleLogger(options: ConsoleLoggerOptions = {}): Logger {
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
