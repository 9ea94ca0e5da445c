import { z } from 'zod';

const positiveInt = z.number().int().positive();

/** The limits one session runs under. Every one is enforced by the runtime with its own error code. */
export const SessionLimitsSchema = z.object({
  /** Wall-clock time for the whole run in ms, including time spent awaiting tools. Code `EXECUTION_TIMEOUT`. */
  timeout: positiveInt,
  /** Guest CPU time in ms (time spent running guest code, not awaiting). Code `CPU_LIMIT_EXCEEDED`. */
  maxCpuTime: positiveInt,
  /** Maximum number of tool calls. Code `TOOL_CALL_LIMIT_EXCEEDED`. */
  maxToolCalls: z.number().int().nonnegative(),
  /** Per-call timeout for a tool in ms. Code `TOOL_TIMEOUT`. */
  toolTimeout: positiveInt,
  /** Memory of the sandbox in bytes (its WebAssembly memory cap). Code `MEMORY_LIMIT_EXCEEDED`. */
  memoryLimit: positiveInt,
  /** Guest stack size in bytes. Code `STACK_OVERFLOW`. */
  maxStackSize: positiveInt,
  /** Bytes of console output (stdout and log messages together). Code `STDOUT_LIMIT_EXCEEDED`. */
  maxStdoutBytes: positiveInt,
  /** Bytes of the JSON-serialized result. Code `RESULT_TOO_LARGE`. */
  maxResultBytes: positiveInt,
  /** Bytes of one call's JSON-serialized arguments. Code `TOOL_ARGS_TOO_LARGE`. */
  maxToolArgsBytes: positiveInt,
  /** Bytes of one JSON-serialized tool result. Code `TOOL_RESULT_TOO_LARGE`. */
  maxToolResultBytes: positiveInt,
});

/** The limits one session runs under. */
export type SessionLimits = z.infer<typeof SessionLimitsSchema>;

/** A partial override of session limits. */
export const SessionLimitsOverrideSchema = SessionLimitsSchema.partial();

/** A partial override of session limits. */
export type SessionLimitsOverride = z.infer<typeof SessionLimitsOverrideSchema>;

/** The four security levels, strictest first. */
export const SecurityLevelSchema = z.enum(['STRICT', 'SECURE', 'STANDARD', 'PERMISSIVE']);

/** One of the four security levels. */
export type SecurityLevel = z.infer<typeof SecurityLevelSchema>;

/** The level used when none is given. @default 'STANDARD' */
export const DEFAULT_SECURITY_LEVEL: SecurityLevel = 'STANDARD';

const KB = 1024;
const MB = 1024 * KB;

/**
 * Session limits of each security level. Timeout, tool calls, memory and stdout follow the design
 * table; the other limits are scaled alongside them.
 */
export const SECURITY_LEVELS: Readonly<Record<SecurityLevel, Readonly<SessionLimits>>> = Object.freeze({
  STRICT: Object.freeze({
    timeout: 5_000,
    maxCpuTime: 2_000,
    maxToolCalls: 10,
    toolTimeout: 5_000,
    memoryLimit: 16 * MB,
    maxStackSize: 192 * KB,
    maxStdoutBytes: 64 * KB,
    maxResultBytes: 64 * KB,
    maxToolArgsBytes: 64 * KB,
    maxToolResultBytes: 256 * KB,
  }),
  SECURE: Object.freeze({
    timeout: 15_000,
    maxCpuTime: 10_000,
    maxToolCalls: 50,
    toolTimeout: 10_000,
    memoryLimit: 32 * MB,
    maxStackSize: 256 * KB,
    maxStdoutBytes: 256 * KB,
    maxResultBytes: 256 * KB,
    maxToolArgsBytes: 256 * KB,
    maxToolResultBytes: 1 * MB,
  }),
  STANDARD: Object.freeze({
    timeout: 30_000,
    maxCpuTime: 20_000,
    maxToolCalls: 100,
    toolTimeout: 30_000,
    memoryLimit: 64 * MB,
    maxStackSize: 256 * KB,
    maxStdoutBytes: 1 * MB,
    maxResultBytes: 1 * MB,
    maxToolArgsBytes: 1 * MB,
    maxToolResultBytes: 4 * MB,
  }),
  PERMISSIVE: Object.freeze({
    timeout: 60_000,
    maxCpuTime: 60_000,
    maxToolCalls: 1_000,
    toolTimeout: 60_000,
    memoryLimit: 128 * MB,
    maxStackSize: 256 * KB,
    maxStdoutBytes: 10 * MB,
    maxResultBytes: 10 * MB,
    maxToolArgsBytes: 4 * MB,
    maxToolResultBytes: 16 * MB,
  }),
});

/**
 * The limits of a security level with overrides applied. `undefined` overrides are ignored.
 *
 * @example resolveLimits('SECURE', { timeout: 2000 })
 */
export function resolveLimits(
  level: SecurityLevel = DEFAULT_SECURITY_LEVEL,
  overrides: SessionLimitsOverride = {},
): SessionLimits {
  const limits: SessionLimits = { ...SECURITY_LEVELS[level] };
  for (const [key, value] of Object.entries(overrides) as [keyof SessionLimits, number | undefined][]) {
    if (value !== undefined) limits[key] = value;
  }
  return SessionLimitsSchema.parse(limits);
}
