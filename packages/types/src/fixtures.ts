import { SECURITY_LEVELS } from './limits.js';
import { PROTOCOL_VERSION } from './protocol-version.js';

const envelope = { protocolVersion: PROTOCOL_VERSION, sessionId: 'ses_fixture1', ts: 1_767_225_600_000 };
const stats = { durationMs: 12.5, cpuTimeMs: 3.1, toolCalls: 1, stdoutBytes: 14 };

/** One valid example of every event type (and the encrypted envelope), keyed by type. */
export const EVENT_FIXTURES = {
  session_init: {
    ...envelope,
    seq: 1,
    type: 'session_init',
    payload: {
      limits: { ...SECURITY_LEVELS.STANDARD },
      securityLevel: 'STANDARD',
      expiresAt: 1_767_225_900_000,
      resumeUrl: '/sessions/ses_fixture1/events',
      cancelUrl: '/sessions/ses_fixture1',
    },
  },
  stdout: { ...envelope, seq: 2, type: 'stdout', payload: { chunk: 'Hello, world!\n' } },
  log: { ...envelope, seq: 3, type: 'log', payload: { level: 'warn', message: 'careful', data: { n: 1 } } },
  tool_call: {
    ...envelope,
    seq: 4,
    type: 'tool_call',
    payload: { callId: 'call_1', toolName: 'users:list', args: { limit: 5 }, answeredBy: 'broker' },
  },
  tool_result_applied: {
    ...envelope,
    seq: 5,
    type: 'tool_result_applied',
    payload: { callId: 'call_1', toolName: 'users:list', ok: true, durationMs: 1.2, result: [{ id: '1' }] },
  },
  heartbeat: { ...envelope, seq: 6, type: 'heartbeat', payload: {} },
  error: {
    ...envelope,
    seq: 7,
    type: 'error',
    payload: { code: 'EXECUTION_ERROR', message: 'TypeError: x is not a function', recoverable: false },
  },
  catalog_changed: {
    ...envelope,
    seq: 8,
    type: 'catalog_changed',
    payload: {
      version: '5f1c0e4b9a',
      addedActions: ['user-service_deleteUser'],
      removedActions: ['user-service_legacySearch'],
      updatedActions: [],
    },
  },
  approval_required: {
    ...envelope,
    seq: 9,
    type: 'approval_required',
    payload: {
      callId: 'call_2',
      toolName: 'users:delete',
      args: { id: '2' },
      expiresAt: 1_767_225_630_000,
    },
  },
  approval_resolved: {
    ...envelope,
    seq: 10,
    type: 'approval_resolved',
    payload: {
      callId: 'call_2',
      toolName: 'users:delete',
      approved: false,
      reason: 'Bob is still on the team',
      decidedBy: { userId: 'u1', tenantId: 'acme' },
      waitedMs: 4200,
    },
  },
  final: { ...envelope, seq: 11, type: 'final', payload: { ok: true, result: 3, stats } },
  encrypted: {
    ...envelope,
    seq: 12,
    type: 'encrypted',
    payload: { iv: 'AAECAwQFBgcICQoL', ciphertext: 'c2VhbGVkIGJ5dGVz' },
  },
} as const;

/** One valid example of every runtime-channel message, keyed by direction and type. */
export const CHANNEL_FIXTURES = {
  brokerToRuntime: {
    execute: {
      type: 'execute',
      sessionId: 'ses_fixture1',
      code: 'return 1 + 2',
      limits: { ...SECURITY_LEVELS.SECURE },
      context: { userId: 'u1' },
    },
    tool_result: { type: 'tool_result', sessionId: 'ses_fixture1', callId: 'call_1', ok: true, result: 42 },
    cancel: { type: 'cancel', sessionId: 'ses_fixture1', reason: 'user' },
    ping: { type: 'ping', id: 1, ts: 1_767_225_600_000 },
    pong: { type: 'pong', id: 1, ts: 1_767_225_600_000 },
  },
  runtimeToBroker: {
    hello: {
      type: 'hello',
      protocolVersion: PROTOCOL_VERSION,
      workerId: 'worker-1',
      maxSessions: 100,
      poolSize: 2,
    },
    load: { type: 'load', activeSessions: 3, maxSessions: 100, poolSize: 2 },
    events: {
      type: 'events',
      sessionId: 'ses_fixture1',
      events: [
        { type: 'stdout', payload: { chunk: 'hi\n' } },
        { type: 'tool_call', payload: { callId: 'call_1', toolName: 'getCurrentTime', args: {} } },
        { type: 'final', payload: { ok: true, result: 3, stats } },
      ],
    },
    error: { type: 'error', code: 'PROTOCOL_ERROR', message: 'type: Invalid input' },
    ping: { type: 'ping', id: 2, ts: 1_767_225_600_000 },
    pong: { type: 'pong', id: 2, ts: 1_767_225_600_000 },
  },
} as const;

/** One valid example of every HTTP body of the broker API, keyed by schema name. */
export const HTTP_FIXTURES = {
  executeRequest: {
    code: 'const t = await tools.getCurrentTime({}); return t;',
    timeout: 10_000,
    maxToolCalls: 5,
    context: { userId: 'u1' },
    filter: { types: ['stdout'], blockedTypes: ['heartbeat'] },
  },
  sessionInfo: {
    id: 'ses_fixture1',
    status: 'running',
    createdAt: 1_767_225_600_000,
    expiresAt: 1_767_225_900_000,
    pendingToolCalls: [],
    pendingApprovals: ['call_2'],
  },
  toolResultRequest: { callId: 'call_1', result: { ok: 1 } },
  toolResultRequestWithError: { callId: 'call_1', error: { message: 'denied', code: 'TOOL_ERROR' } },
  toolResultResponse: { success: true },
  approvalDecisionRequest: { callId: 'call_2', approved: false, reason: 'Bob is still on the team' },
  approvalDecisionRequestApproved: { callId: 'call_2', approved: true },
  approvalDecisionRequestSealed: {
    callId: 'call_2',
    encrypted: { counter: 1, iv: 'AAECAwQFBgcICQoL', ciphertext: 'c2VhbGVkIGJ5dGVz' },
  },
  approvalDecisionResponse: { success: true },
  resumeQuery: { fromSeq: '5' },
  cancelSessionResponse: { success: true, sessionId: 'ses_fixture1', status: 'error' },
  healthResponse: { status: 'ok', uptime: 12.3, sessions: { active: 1, total: 7 } },
  errorResponse: { error: { code: 'SESSION_NOT_FOUND', message: 'No session ses_x', retryable: false } },
  catalogResponse: {
    actions: [
      { name: 'user-service_listUsers', description: 'List all users', service: 'user-service' },
      {
        name: 'user-service_deleteUser',
        description: 'Delete a user',
        service: 'user-service',
        requiresApproval: true,
      },
    ],
    services: [
      { name: 'user-service', specUrl: '', lastUpdated: '2026-03-31T12:00:00.000Z', actionCount: 2 },
      {
        name: 'billing',
        specUrl: 'http://billing.internal/openapi.json',
        lastUpdated: '',
        actionCount: 0,
        status: 'unavailable',
        error: {
          code: 'UPSTREAM_UNAVAILABLE',
          message: 'GET http://billing.internal/openapi.json failed: connection refused',
        },
      },
    ],
    version: 'a1b2c3d4',
  },
} as const;
