import { ErrorPayloadSchema, FinalPayloadSchema } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import { emptyStats, endingEvents, SessionTally } from '../../src/channel/session-tally.js';

describe('SessionTally', () => {
  it('counts tool calls and console bytes of the events it observes', () => {
    const tally = new SessionTally();
    tally.observe({ type: 'stdout', payload: { chunk: 'héllo\n' } });
    tally.observe({ type: 'log', payload: { level: 'warn', message: 'careful' } });
    tally.observe({ type: 'tool_call', payload: { callId: 'call_1', toolName: 'a', args: {} } });
    tally.observe({ type: 'tool_call', payload: { callId: 'call_2', toolName: 'b', args: {} } });
    const stats = tally.stats();
    expect(stats.toolCalls).toBe(2);
    expect(stats.stdoutBytes).toBe(7 + 7);
    expect(stats.cpuTimeMs).toBe(0);
    expect(stats.durationMs).toBeGreaterThanOrEqual(0);
  });
});

describe('endingEvents', () => {
  it('builds a non-recoverable error and a failed final that follow the event schemas', () => {
    const [error, final] = endingEvents({ code: 'SHUTTING_DOWN', message: 'bye' }, emptyStats());
    expect(error).toEqual({
      type: 'error',
      payload: { code: 'SHUTTING_DOWN', message: 'bye', recoverable: false },
    });
    expect(final.payload).toEqual({
      ok: false,
      error: { code: 'SHUTTING_DOWN', message: 'bye' },
      stats: emptyStats(),
    });
    expect(ErrorPayloadSchema.safeParse(error.payload).success).toBe(true);
    expect(FinalPayloadSchema.safeParse(final.payload).success).toBe(true);
  });
});
