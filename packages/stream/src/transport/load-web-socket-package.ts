import type { WebSocketConstructor } from './web-socket-like.js';

/**
 * The `ws` package's `WebSocket` class when it can be loaded. This build (browsers and other
 * runtimes) has none to load: they have a global `WebSocket`. The Node build replaces this file with
 * `load-web-socket-package.node.ts`.
 */
export function loadWebSocketPackage(): WebSocketConstructor | undefined {
  return undefined;
}
