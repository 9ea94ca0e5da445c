import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { resolveWebSocketConstructor } from '../../src/transport/web-socket-like.js';

describe('resolveWebSocketConstructor', () => {
  it('prefers the class passed in', () => {
    expect(resolveWebSocketConstructor(WebSocket, {})).toBe(WebSocket);
  });

  it('falls back to the global WebSocket', () => {
    expect(resolveWebSocketConstructor(undefined, { WebSocket })).toBe(WebSocket);
  });

  it('without a global one, uses the ws package when it is installed', () => {
    expect(resolveWebSocketConstructor(undefined, {}, () => WebSocket)).toBe(WebSocket);
  });

  it('throws CONFIGURATION_ERROR telling Node 20 users to install ws when there is neither', () => {
    expect(() => resolveWebSocketConstructor(undefined, {}, () => undefined)).toThrow(
      expect.objectContaining({ code: 'CONFIGURATION_ERROR', message: expect.stringContaining('`ws`') }),
    );
  });
});
