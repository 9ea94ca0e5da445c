import { describe, expect, it } from 'vitest';
import { AdditionalData } from '../../src/crypto/additional-data.js';

describe('AdditionalData', () => {
  it('lays out tag, kind, direction, big-endian sequence number and session id', () => {
    const block = new AdditionalData('stream-event', 'server-to-client', 'ses_1').for(0x0102_0304_0506);
    expect(new TextDecoder().decode(block.subarray(0, 8))).toBe('enclave1');
    expect([...block.subarray(8, 18)]).toEqual([2, 2, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06]);
    expect(new TextDecoder().decode(block.subarray(18))).toBe('ses_1');
  });

  it('gives different blocks for each field and the largest safe sequence number', () => {
    const blocks = [
      new AdditionalData('channel-frame', 'client-to-server', 's').for(1),
      new AdditionalData('client-message', 'client-to-server', 's').for(1),
      new AdditionalData('channel-frame', 'server-to-client', 's').for(1),
      new AdditionalData('channel-frame', 'client-to-server', 's').for(2),
      new AdditionalData('channel-frame', 'client-to-server', 's').for(2 ** 32 + 1),
      new AdditionalData('channel-frame', 'client-to-server', 't').for(1),
    ];
    expect(new Set(blocks.map((block) => block.join(','))).size).toBe(blocks.length);
    const largest = new AdditionalData('channel-frame', 'client-to-server', 's').for(Number.MAX_SAFE_INTEGER);
    expect([...largest.subarray(10, 18)]).toEqual([0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  });
});
