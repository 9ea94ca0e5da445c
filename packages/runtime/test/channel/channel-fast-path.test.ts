import {
  BrokerToRuntimeMessageSchema,
  EventsMessageSchema,
  RuntimeToBrokerMessageSchema,
  ToolResultMessageSchema,
} from '@enclave-vm/types';
import { CHANNEL_FIXTURES } from '@enclave-vm/types/testing';
import { describe, expect, it } from 'vitest';
import {
  isFastEventsMessage,
  isFastToolResultMessage,
  parseBrokerToRuntimeMessage,
  parseRuntimeToBrokerMessage,
} from '../../src/channel/channel-fast-path.js';
import { decodeChannelMessage } from '../../src/channel/channel-message.js';

/** A small seeded generator (mulberry32), so that a failure can be replayed. */
function createRandom(seed: number) {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const integer = (max: number): number => Math.floor(next() * max);
  const pick = <Value>(values: readonly Value[]): Value => values[integer(values.length)] as Value;
  const chance = (probability: number): boolean => next() < probability;
  return { next, integer, pick, chance };
}
type Random = ReturnType<typeof createRandom>;

const ID_ALPHABET = 'ABCXYZabcxyz0189_-';

function id(random: Random): string {
  const length = random.pick([1, 2, 8, 36, 127, 128]);
  let text = '';
  for (let index = 0; index < length; index++) text += random.pick([...ID_ALPHABET]);
  return text;
}

function text(random: Random, maxLength = 12): string {
  const length = random.integer(maxLength + 1);
  let result = '';
  for (let index = 0; index < length; index++) result += random.pick(['a', 'Z', ' ', 'é', '"', '\n', '😀']);
  return result;
}

function jsonValue(random: Random, depth = 0): unknown {
  const kind = random.integer(depth > 2 ? 4 : 6);
  if (kind === 0) return null;
  if (kind === 1) return random.chance(0.5);
  if (kind === 2) return random.pick([0, 1, -1, 2.5, 1e21, -0]);
  if (kind === 3) return text(random);
  if (kind === 4) return Array.from({ length: random.integer(3) }, () => jsonValue(random, depth + 1));
  const object: Record<string, unknown> = {};
  for (let index = random.integer(3); index > 0; index--)
    object[text(random, 4)] = jsonValue(random, depth + 1);
  return object;
}

function wireError(random: Random): Record<string, unknown> {
  const error: Record<string, unknown> = {
    code: random.pick(['TOOL_ERROR', 'X', 'C'.repeat(100)]),
    message: text(random),
  };
  if (random.chance(0.3)) error.details = jsonValue(random);
  return error;
}

function runtimeEvent(random: Random): Record<string, unknown> {
  switch (random.integer(5)) {
    case 0:
      return {
        type: 'tool_call',
        payload: {
          callId: id(random),
          toolName: random.pick(['echo', 'users:list', 'n'.repeat(256)]),
          args: jsonValue(random),
        },
      };
    case 1:
      return { type: 'stdout', payload: { chunk: text(random) } };
    case 2: {
      const payload: Record<string, unknown> = {
        level: random.pick(['debug', 'info', 'warn', 'error']),
        message: text(random),
      };
      if (random.chance(0.4)) payload.data = jsonValue(random);
      return { type: 'log', payload };
    }
    case 3: {
      const payload: Record<string, unknown> = {
        code: random.pick(['CANCELLED', 'E']),
        message: text(random),
        recoverable: random.chance(0.5),
      };
      if (random.chance(0.4)) payload.details = jsonValue(random);
      return { type: 'error', payload };
    }
    default: {
      const ok = random.chance(0.5);
      const payload: Record<string, unknown> = {
        ok,
        stats: {
          durationMs: random.pick([0, 1.5, 12_345]),
          cpuTimeMs: random.pick([0, 0.25]),
          toolCalls: random.pick([0, 10]),
          stdoutBytes: random.pick([0, 1024]),
        },
      };
      if (ok && random.chance(0.8)) payload.result = jsonValue(random);
      if (!ok) payload.error = wireError(random);
      return { type: 'final', payload };
    }
  }
}

function eventsMessage(random: Random): Record<string, unknown> {
  return {
    type: 'events',
    sessionId: id(random),
    events: Array.from({ length: 1 + random.integer(4) }, () => runtimeEvent(random)),
  };
}

function toolResultMessage(random: Random): Record<string, unknown> {
  const ok = random.chance(0.5);
  const message: Record<string, unknown> = {
    type: 'tool_result',
    sessionId: id(random),
    callId: id(random),
    ok,
  };
  if (ok && random.chance(0.9)) message.result = jsonValue(random);
  if (!ok && random.chance(0.9)) message.error = wireError(random);
  return message;
}

/** Values that break one rule or another of the schemas. */
const ODD_VALUES: readonly unknown[] = [
  undefined,
  null,
  '',
  'x'.repeat(129),
  'has space',
  'C'.repeat(101),
  'n'.repeat(257),
  -1,
  0.5,
  -0,
  2 ** 53,
  Number.POSITIVE_INFINITY,
  Number.NaN,
  true,
  [],
  {},
  [1],
  'tool_result',
  'events',
  'verbose',
];

/** Every object reachable from `root` (itself included), with the arrays. */
function containers(root: unknown): (Record<string, unknown> | unknown[])[] {
  const found: (Record<string, unknown> | unknown[])[] = [];
  const visit = (value: unknown): void => {
    if (typeof value !== 'object' || value === null) return;
    found.push(value as Record<string, unknown> | unknown[]);
    for (const child of Object.values(value)) visit(child);
  };
  visit(root);
  return found;
}

/** Changes one thing somewhere in a (deep-copied) message: a key removed, added or set to an odd value. */
function mutate(random: Random, message: Record<string, unknown>): unknown {
  const copy = structuredClone(message);
  const target = random.pick(containers(copy));
  const keys = Object.keys(target);
  const action = random.integer(4);
  if (Array.isArray(target)) {
    if (action === 0) target.length = 0;
    else target[random.integer(target.length + 1)] = random.pick(ODD_VALUES);
  } else if (action === 0 && keys.length > 0) {
    delete target[random.pick(keys)];
  } else if (action === 1) {
    target[random.pick(['extra', '__proto__', 'constructor', 'toString', 'result', 'details'])] =
      random.pick(ODD_VALUES);
  } else if (keys.length > 0) {
    target[random.pick(keys)] = random.pick(ODD_VALUES);
  }
  // Also through JSON, as messages arrive: `__proto__` then becomes an own key.
  return random.chance(0.5) ? JSON.parse(JSON.stringify(copy) ?? 'null') : copy;
}

describe('the fast path of channel validation', () => {
  const cases = [
    {
      name: 'events',
      generate: eventsMessage,
      fast: isFastEventsMessage,
      schema: EventsMessageSchema,
      union: RuntimeToBrokerMessageSchema,
    },
    {
      name: 'tool_result',
      generate: toolResultMessage,
      fast: isFastToolResultMessage,
      schema: ToolResultMessageSchema,
      union: BrokerToRuntimeMessageSchema,
    },
  ] as const;

  for (const { name, generate, fast, schema, union } of cases) {
    it(`takes every well-formed ${name} message, unchanged by the schema`, () => {
      const random = createRandom(0x5eed);
      for (let round = 0; round < 2_000; round++) {
        const message = JSON.parse(JSON.stringify(generate(random))) as unknown;
        const parsed = union.safeParse(message);
        expect(parsed.success, JSON.stringify(message)).toBe(true);
        expect(parsed.data).toEqual(message);
        expect(fast(message), JSON.stringify(message)).toBe(true);
      }
    });

    it(`never takes a ${name} message that the schema refuses or would change (generated mutations)`, () => {
      const random = createRandom(0xbad5eed);
      let refusedBySchema = 0;
      let refusedByFastPath = 0;
      for (let round = 0; round < 20_000; round++) {
        const value = mutate(random, generate(random));
        const parsed = schema.safeParse(value);
        if (!parsed.success) refusedBySchema += 1;
        if (!fast(value)) {
          refusedByFastPath += 1;
          continue;
        }
        expect(parsed.success, JSON.stringify(value)).toBe(true);
        expect(parsed.data).toEqual(value);
        expect(union.safeParse(value).data).toEqual(value);
      }
      // The mutations do reach the interesting cases: many refused, and the fast path refuses more
      // (unknown keys, which the schema would strip, go to the schema).
      expect(refusedBySchema).toBeGreaterThan(5_000);
      expect(refusedByFastPath).toBeGreaterThanOrEqual(refusedBySchema);
    });
  }

  it('accepts the channel fixtures of types and leaves every other message type to the schema', () => {
    for (const fixture of Object.values(CHANNEL_FIXTURES.runtimeToBroker)) {
      expect(parseRuntimeToBrokerMessage(fixture)).toEqual({ success: true, data: fixture });
    }
    for (const fixture of Object.values(CHANNEL_FIXTURES.brokerToRuntime)) {
      expect(parseBrokerToRuntimeMessage(fixture)).toEqual({ success: true, data: fixture });
    }
  });

  it('answers an invalid hot message with the schema’s readable explanation', () => {
    const toolResult = JSON.stringify({
      type: 'tool_result',
      sessionId: 'ses_1',
      callId: 'call 1',
      ok: 'yes',
    });
    const decoded = decodeChannelMessage(toolResult, parseBrokerToRuntimeMessage, 1_000);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) {
      expect(decoded.problem).toMatchObject({ code: 'PROTOCOL_ERROR', sessionId: 'ses_1' });
      expect(decoded.problem.message).toMatch(/^Invalid message: /);
      expect(decoded.problem.message).toContain('callId: call id must be');
      expect(decoded.problem.message).toContain('ok: Invalid input: expected boolean');
    }
    const events = JSON.stringify({
      type: 'events',
      sessionId: 'ses_1',
      events: [{ type: 'tool_call', payload: { callId: 'call_1', toolName: '' } }],
    });
    const decodedEvents = decodeChannelMessage(events, parseRuntimeToBrokerMessage, 1_000);
    expect(decodedEvents.ok).toBe(false);
    if (!decodedEvents.ok) expect(decodedEvents.problem.message).toContain('events.0.payload.toolName');
  });

  it('strips nothing it accepts: a message with an extra key goes to the schema, which drops the key', () => {
    const message = {
      type: 'tool_result',
      sessionId: 'ses_1',
      callId: 'call_1',
      ok: true,
      result: 1,
      extra: 2,
    };
    expect(isFastToolResultMessage(message)).toBe(false);
    expect(parseBrokerToRuntimeMessage(message)).toEqual({
      success: true,
      data: { type: 'tool_result', sessionId: 'ses_1', callId: 'call_1', ok: true, result: 1 },
    });
  });
});
