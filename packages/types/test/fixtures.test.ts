import { describe, expect, it } from 'vitest';
import { CatalogResponseSchema } from '../src/catalog.js';
import { EncryptedEventSchema, EVENT_TYPES, StreamEventSchema, WireEventSchema } from '../src/events.js';
import { CHANNEL_FIXTURES, EVENT_FIXTURES, HTTP_FIXTURES } from '../src/fixtures.js';
import {
  ApprovalDecisionRequestSchema,
  ApprovalDecisionResponseSchema,
  CancelSessionResponseSchema,
  ErrorResponseSchema,
  ExecuteRequestSchema,
  HealthResponseSchema,
  ResumeQuerySchema,
  SessionInfoSchema,
  ToolResultRequestSchema,
  ToolResultResponseSchema,
} from '../src/http.js';
import { BrokerToRuntimeMessageSchema, RuntimeToBrokerMessageSchema } from '../src/runtime-channel.js';
import { validate } from '../src/validation.js';

describe('event fixtures', () => {
  it('has one fixture for every event type', () => {
    for (const type of EVENT_TYPES) expect(EVENT_FIXTURES[type].type).toBe(type);
  });

  for (const type of EVENT_TYPES) {
    it(`accepts the ${type} fixture and keeps its payload`, () => {
      const fixture = EVENT_FIXTURES[type];
      const parsed = StreamEventSchema.parse(fixture);
      expect(parsed).toEqual(fixture);
      expect(WireEventSchema.parse(fixture).type).toBe(type);
    });
  }

  it('accepts the encrypted envelope on the wire but not as a plain event', () => {
    expect(EncryptedEventSchema.parse(EVENT_FIXTURES.encrypted)).toEqual(EVENT_FIXTURES.encrypted);
    expect(WireEventSchema.parse(EVENT_FIXTURES.encrypted).type).toBe('encrypted');
    expect(StreamEventSchema.safeParse(EVENT_FIXTURES.encrypted).success).toBe(false);
  });

  it('ignores unknown fields from a newer peer', () => {
    const parsed = StreamEventSchema.parse({ ...EVENT_FIXTURES.stdout, future: 1 });
    expect(parsed).not.toHaveProperty('future');
  });
});

describe('channel fixtures', () => {
  for (const [type, message] of Object.entries(CHANNEL_FIXTURES.brokerToRuntime)) {
    it(`accepts broker → runtime ${type}`, () => {
      expect(BrokerToRuntimeMessageSchema.parse(message)).toEqual(message);
    });
  }
  for (const [type, message] of Object.entries(CHANNEL_FIXTURES.runtimeToBroker)) {
    it(`accepts runtime → broker ${type}`, () => {
      expect(RuntimeToBrokerMessageSchema.parse(message)).toEqual(message);
    });
  }

  it('does not accept a runtime message in the broker direction', () => {
    expect(BrokerToRuntimeMessageSchema.safeParse(CHANNEL_FIXTURES.runtimeToBroker.hello).success).toBe(
      false,
    );
    expect(RuntimeToBrokerMessageSchema.safeParse(CHANNEL_FIXTURES.brokerToRuntime.execute).success).toBe(
      false,
    );
  });
});

describe('HTTP fixtures', () => {
  const cases = [
    ['executeRequest', ExecuteRequestSchema],
    ['sessionInfo', SessionInfoSchema],
    ['toolResultRequest', ToolResultRequestSchema],
    ['toolResultRequestWithError', ToolResultRequestSchema],
    ['toolResultResponse', ToolResultResponseSchema],
    ['approvalDecisionRequest', ApprovalDecisionRequestSchema],
    ['approvalDecisionRequestApproved', ApprovalDecisionRequestSchema],
    ['approvalDecisionRequestSealed', ApprovalDecisionRequestSchema],
    ['approvalDecisionResponse', ApprovalDecisionResponseSchema],
    ['cancelSessionResponse', CancelSessionResponseSchema],
    ['healthResponse', HealthResponseSchema],
    ['errorResponse', ErrorResponseSchema],
    ['catalogResponse', CatalogResponseSchema],
  ] as const;
  for (const [name, schema] of cases) {
    it(`accepts ${name}`, () => {
      expect(schema.parse(HTTP_FIXTURES[name])).toEqual(HTTP_FIXTURES[name]);
    });
  }

  it('coerces fromSeq from the query string and defaults it to 1', () => {
    expect(ResumeQuerySchema.parse(HTTP_FIXTURES.resumeQuery)).toEqual({ fromSeq: 5 });
    expect(ResumeQuerySchema.parse({})).toEqual({ fromSeq: 1 });
  });

  it('accepts the request of the documented curl example', () => {
    expect(ExecuteRequestSchema.parse({ code: 'return 1 + 2' })).toEqual({ code: 'return 1 + 2' });
  });
});

describe('invalid input is rejected with a readable error', () => {
  const invalid: [string, Parameters<typeof validate>[0], unknown, RegExp][] = [
    ['event with seq 0', StreamEventSchema, { ...EVENT_FIXTURES.stdout, seq: 0 }, /seq/],
    ['event with unknown type', StreamEventSchema, { ...EVENT_FIXTURES.stdout, type: 'telemetry' }, /type/],
    ['stdout without chunk', StreamEventSchema, { ...EVENT_FIXTURES.stdout, payload: {} }, /payload\.chunk/],
    [
      'log with bad level',
      StreamEventSchema,
      { ...EVENT_FIXTURES.log, payload: { level: 'trace', message: 'x' } },
      /payload\.level/,
    ],
    [
      'tool_call with bad answeredBy',
      StreamEventSchema,
      { ...EVENT_FIXTURES.tool_call, payload: { ...EVENT_FIXTURES.tool_call.payload, answeredBy: 'nobody' } },
      /answeredBy/,
    ],
    [
      'final without stats',
      StreamEventSchema,
      { ...EVENT_FIXTURES.final, payload: { ok: true } },
      /payload\.stats/,
    ],
    [
      'session id with a slash',
      StreamEventSchema,
      { ...EVENT_FIXTURES.heartbeat, sessionId: '../etc' },
      /sessionId/,
    ],
    ['execute without code', ExecuteRequestSchema, { timeout: 5 }, /code/],
    ['execute with empty code', ExecuteRequestSchema, { code: '' }, /code must not be empty/],
    ['execute with string timeout', ExecuteRequestSchema, { code: 'x', timeout: '5' }, /timeout/],
    ['execute with unknown field', ExecuteRequestSchema, { code: 'x', evil: true }, /evil/],
    [
      'execute with unknown filter type',
      ExecuteRequestSchema,
      { code: 'x', filter: { types: ['nope'] } },
      /filter\.types\.0/,
    ],
    ['tool result without callId', ToolResultRequestSchema, { result: 1 }, /callId/],
    ['approval without callId', ApprovalDecisionRequestSchema, { approved: true }, /callId/],
    [
      'approval with a string for approved',
      ApprovalDecisionRequestSchema,
      { callId: 'call_1', approved: 'yes' },
      /approved/,
    ],
    [
      'approval with an unknown field',
      ApprovalDecisionRequestSchema,
      { callId: 'call_1', approved: true, approver: 'me' },
      /approver/,
    ],
    [
      'approval with a reason over 10,000 characters',
      ApprovalDecisionRequestSchema,
      { callId: 'call_1', approved: false, reason: 'x'.repeat(10_001) },
      /reason/,
    ],
    [
      'approval_resolved without approved',
      StreamEventSchema,
      {
        ...EVENT_FIXTURES.approval_resolved,
        payload: { callId: 'call_2', toolName: 'users:delete', waitedMs: 1 },
      },
      /payload\.approved/,
    ],
    ['resume from seq -1', ResumeQuerySchema, { fromSeq: '-1' }, /fromSeq/],
    [
      'execute message without limits',
      BrokerToRuntimeMessageSchema,
      { type: 'execute', sessionId: 's', code: 'x' },
      /limits/,
    ],
    [
      'events message with no events',
      RuntimeToBrokerMessageSchema,
      { type: 'events', sessionId: 's', events: [] },
      /events/,
    ],
    ['ping without id', BrokerToRuntimeMessageSchema, { type: 'ping', ts: 1 }, /id/],
    ['not an object', StreamEventSchema, 'hello', /\(root\)/],
  ];
  for (const [name, schema, value, expected] of invalid) {
    it(`rejects ${name}`, () => {
      const result = validate(schema, value);
      expect(result.success).toBe(false);
      if (!result.success) expect(result.message).toMatch(expected);
    });
  }
});
