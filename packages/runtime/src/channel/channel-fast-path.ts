import {
  type BrokerToRuntimeMessage,
  BrokerToRuntimeMessageSchema,
  type EventsMessage,
  type RuntimeToBrokerMessage,
  RuntimeToBrokerMessageSchema,
  type ToolResultMessage,
  type ValidationResult,
  validate,
} from '@enclave-vm/types';

/*
 * Every message on the runtime channel is validated. The Zod schemas of `@enclave-vm/types` are the
 * definition, but running them costs tens of microseconds per message, and a script making tool
 * calls in a loop sends two messages per call. The two hot messages (`events` worker → broker and
 * `tool_result` broker → worker) are therefore checked here by hand first.
 *
 * A hand check only ever *accepts*: it returns true when the schema would accept the value and
 * produce an equal one (so it also refuses unknown keys, which the schema would strip). Anything
 * else, valid or not, goes through the schema, which alone writes the error messages. A test
 * compares both on generated messages (channel-fast-path.test.ts).
 */

/** Same pattern as `SessionIdSchema` and `CallIdSchema`. */
const ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
const LOG_LEVELS: ReadonlySet<unknown> = new Set(['debug', 'info', 'warn', 'error']);

type Check = (value: unknown) => boolean;
type PlainRecord = Record<string, unknown>;

function isRecord(value: unknown): value is PlainRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Whether every own enumerable key of `value` is one of `known` and every key of `required` is
 * present. Keys the schema would strip (an unknown one, `__proto__` from `JSON.parse`) send the
 * value to the schema.
 */
function hasOnlyKeys(value: PlainRecord, known: ReadonlySet<string>, required: number): boolean {
  let count = 0;
  for (const key in value) {
    if (!Object.hasOwn(value, key) || !known.has(key)) return false;
    count += 1;
  }
  return count >= required;
}

function isId(value: unknown): boolean {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

function isStringOfLength(value: unknown, min: number, max: number): boolean {
  return typeof value === 'string' && value.length >= min && value.length <= max;
}

function isNonNegativeNumber(value: unknown): boolean {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function isNonNegativeInteger(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

const WIRE_ERROR_KEYS: ReadonlySet<string> = new Set(['code', 'message', 'details']);

/** `WireErrorSchema`: `{ code (1-100 chars), message (≤ 100,000 chars), details? }`. */
function isWireError(value: unknown): boolean {
  if (!isRecord(value)) return false;
  const keys = ('details' in value ? 1 : 0) + 2;
  return (
    hasOnlyKeys(value, WIRE_ERROR_KEYS, keys) &&
    isStringOfLength(value.code, 1, 100) &&
    isStringOfLength(value.message, 0, 100_000)
  );
}

function isOptional(value: unknown, check: Check): boolean {
  return value === undefined || check(value);
}

/** Number of keys among `optional` that `value` has, so that `hasOnlyKeys` can require the rest. */
function countPresent(value: PlainRecord, optional: readonly string[]): number {
  let count = 0;
  for (const key of optional) if (key in value) count += 1;
  return count;
}

const STATS_KEYS: ReadonlySet<string> = new Set(['durationMs', 'cpuTimeMs', 'toolCalls', 'stdoutBytes']);

function isStats(value: unknown): boolean {
  return (
    isRecord(value) &&
    hasOnlyKeys(value, STATS_KEYS, 4) &&
    isNonNegativeNumber(value.durationMs) &&
    isNonNegativeNumber(value.cpuTimeMs) &&
    isNonNegativeInteger(value.toolCalls) &&
    isNonNegativeInteger(value.stdoutBytes)
  );
}

const STDOUT_KEYS: ReadonlySet<string> = new Set(['chunk']);
const LOG_KEYS: ReadonlySet<string> = new Set(['level', 'message', 'data']);
const TOOL_CALL_KEYS: ReadonlySet<string> = new Set(['callId', 'toolName', 'args']);
const ERROR_KEYS: ReadonlySet<string> = new Set(['code', 'message', 'recoverable', 'details']);
const FINAL_KEYS: ReadonlySet<string> = new Set(['ok', 'result', 'error', 'stats']);
const EVENT_KEYS: ReadonlySet<string> = new Set(['type', 'payload']);

/** One `RuntimeEventSchema` event: `stdout`, `log`, `tool_call`, `error` or `final`. */
function isRuntimeEvent(event: unknown): boolean {
  if (!isRecord(event) || !hasOnlyKeys(event, EVENT_KEYS, 2)) return false;
  const payload = event.payload;
  if (!isRecord(payload)) return false;
  switch (event.type) {
    case 'tool_call':
      // `args` is `z.unknown()` but required: the key must be there, whatever its value.
      return (
        hasOnlyKeys(payload, TOOL_CALL_KEYS, 3) &&
        isId(payload.callId) &&
        isStringOfLength(payload.toolName, 1, 256)
      );
    case 'stdout':
      return hasOnlyKeys(payload, STDOUT_KEYS, 1) && typeof payload.chunk === 'string';
    case 'log':
      return (
        hasOnlyKeys(payload, LOG_KEYS, 2 + countPresent(payload, ['data'])) &&
        LOG_LEVELS.has(payload.level) &&
        typeof payload.message === 'string'
      );
    case 'error':
      return (
        hasOnlyKeys(payload, ERROR_KEYS, 3 + countPresent(payload, ['details'])) &&
        isStringOfLength(payload.code, 1, 100) &&
        typeof payload.message === 'string' &&
        typeof payload.recoverable === 'boolean'
      );
    case 'final':
      return (
        hasOnlyKeys(payload, FINAL_KEYS, 2 + countPresent(payload, ['result', 'error'])) &&
        typeof payload.ok === 'boolean' &&
        isOptional(payload.error, isWireError) &&
        isStats(payload.stats)
      );
    default:
      return false;
  }
}

const EVENTS_MESSAGE_KEYS: ReadonlySet<string> = new Set(['type', 'sessionId', 'events']);

/**
 * Whether `value` is an `events` message that `EventsMessageSchema` accepts unchanged. False means
 * "ask the schema", not "invalid".
 */
export function isFastEventsMessage(value: unknown): value is EventsMessage {
  if (!isRecord(value) || value.type !== 'events' || !hasOnlyKeys(value, EVENTS_MESSAGE_KEYS, 3)) {
    return false;
  }
  const events = value.events;
  if (!Array.isArray(events) || events.length === 0 || !isId(value.sessionId)) return false;
  for (const event of events) if (!isRuntimeEvent(event)) return false;
  return true;
}

const TOOL_RESULT_KEYS: ReadonlySet<string> = new Set([
  'type',
  'sessionId',
  'callId',
  'ok',
  'result',
  'error',
]);

/**
 * Whether `value` is a `tool_result` message that `ToolResultMessageSchema` accepts unchanged.
 * False means "ask the schema", not "invalid".
 */
export function isFastToolResultMessage(value: unknown): value is ToolResultMessage {
  return (
    isRecord(value) &&
    value.type === 'tool_result' &&
    hasOnlyKeys(value, TOOL_RESULT_KEYS, 4 + countPresent(value, ['result', 'error'])) &&
    isId(value.sessionId) &&
    isId(value.callId) &&
    typeof value.ok === 'boolean' &&
    isOptional(value.error, isWireError)
  );
}

/**
 * Validates a message a runtime worker sent: `events` messages through a hand-written check, every
 * other message (and every `events` message the check does not accept) through
 * `RuntimeToBrokerMessageSchema`, which also writes the error message.
 */
export function parseRuntimeToBrokerMessage(value: unknown): ValidationResult<RuntimeToBrokerMessage> {
  if (isFastEventsMessage(value)) return { success: true, data: value };
  return validate(RuntimeToBrokerMessageSchema, value);
}

/**
 * Validates a message a broker sent: `tool_result` messages through a hand-written check, every
 * other message (and every `tool_result` the check does not accept) through
 * `BrokerToRuntimeMessageSchema`, which also writes the error message.
 */
export function parseBrokerToRuntimeMessage(value: unknown): ValidationResult<BrokerToRuntimeMessage> {
  if (isFastToolResultMessage(value)) return { success: true, data: value };
  return validate(BrokerToRuntimeMessageSchema, value);
}
