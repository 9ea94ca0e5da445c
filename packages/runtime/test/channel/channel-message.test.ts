import { BrokerToRuntimeMessageSchema, validate } from '@enclave-vm/types';
import { CHANNEL_FIXTURES } from '@enclave-vm/types/testing';
import { describe, expect, it } from 'vitest';
import { decodeChannelMessage } from '../../src/channel/channel-message.js';

const parse = (value: unknown) => validate(BrokerToRuntimeMessageSchema, value);

describe('decodeChannelMessage', () => {
  it('decodes every broker message fixture, as text and as bytes', () => {
    for (const fixture of Object.values(CHANNEL_FIXTURES.brokerToRuntime)) {
      const text = JSON.stringify(fixture);
      expect(decodeChannelMessage(text, parse, 1_000_000)).toEqual({ ok: true, message: fixture });
      expect(decodeChannelMessage(Buffer.from(text), parse, 1_000_000)).toEqual({
        ok: true,
        message: fixture,
      });
      const bytes = new TextEncoder().encode(text);
      expect(decodeChannelMessage(bytes.buffer, parse, 1_000_000)).toEqual({ ok: true, message: fixture });
      const half = Math.floor(bytes.length / 2);
      const fragments = [Buffer.from(bytes.subarray(0, half)), Buffer.from(bytes.subarray(half))];
      expect(decodeChannelMessage(fragments, parse, 1_000_000)).toEqual({ ok: true, message: fixture });
    }
  });

  it('refuses a message larger than the limit, counting bytes rather than characters', () => {
    const text = JSON.stringify({ type: 'cancel', sessionId: 'ses_1', reason: 'é'.repeat(40) });
    const decoded = decodeChannelMessage(text, parse, text.length);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) {
      expect(decoded.problem.code).toBe('PROTOCOL_ERROR');
      expect(decoded.problem.message).toContain(`exceeds the limit of ${text.length} bytes`);
    }
  });

  it('explains invalid JSON', () => {
    const decoded = decodeChannelMessage('{"type": "ping",', parse, 1_000);
    expect(decoded).toMatchObject({ ok: false, problem: { code: 'PROTOCOL_ERROR' } });
    if (!decoded.ok) expect(decoded.problem.message).toMatch(/^Message is not valid JSON/);
  });

  it('names the bad field of a wrong shape and keeps the session id when it is valid', () => {
    const decoded = decodeChannelMessage(
      JSON.stringify({ type: 'tool_result', sessionId: 'ses_7', callId: 'call 1', ok: true }),
      parse,
      1_000,
    );
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) {
      expect(decoded.problem.message).toContain('callId');
      expect(decoded.problem.sessionId).toBe('ses_7');
      expect(decoded.problem.details).toEqual([expect.objectContaining({ path: ['callId'] })]);
    }
  });

  it('refuses an unknown message type and data that is neither text nor bytes', () => {
    const unknownType = decodeChannelMessage('{"type":"reboot"}', parse, 1_000);
    expect(unknownType.ok).toBe(false);
    if (!unknownType.ok) expect(unknownType.problem.message).toContain('type');
    const notData = decodeChannelMessage(42, parse, 1_000);
    expect(notData.ok).toBe(false);
    if (!notData.ok) expect(notData.problem.message).toContain('Unsupported frame data');
  });
});
