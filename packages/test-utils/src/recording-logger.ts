/** A logger (the `{ debug, info, warn, error }` shape every EnclaveJS package takes) that keeps its lines. */
export interface RecordingLogger {
  /** Every line logged so far: `level message {data as JSON}`. */
  readonly lines: string[];
  debug(message: string, data?: Record<string, unknown>): void;
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

/** A logger that keeps every line, so that a test can check what reached the logs. */
export function recordingLogger(): RecordingLogger {
  const lines: string[] = [];
  const record =
    (level: string) =>
    (message: string, data?: Record<string, unknown>): void => {
      lines.push(`${level} ${message} ${JSON.stringify(data ?? {})}`);
    };
  return {
    lines,
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  };
}
