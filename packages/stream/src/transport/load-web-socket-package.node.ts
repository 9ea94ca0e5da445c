import { createRequire } from 'node:module';
import type { WebSocketConstructor } from './web-socket-like.js';

let loaded: WebSocketConstructor | null | undefined;

/**
 * The `ws` package's `WebSocket` class when it is installed (an optional peer dependency), for
 * Node versions without a global `WebSocket` (Node 20); undefined when it is not installed.
 */
export function loadWebSocketPackage(): WebSocketConstructor | undefined {
  if (loaded === undefined) {
    try {
      const required = createRequire(import.meta.url)('ws') as { WebSocket?: unknown };
      loaded = typeof required.WebSocket === 'function' ? (required.WebSocket as WebSocketConstructor) : null;
    } catch {
      loaded = null;
    }
  }
  return loaded ?? undefined;
}
