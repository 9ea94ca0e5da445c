import type { Logger } from '../options/broker-options.js';

function ignore(): void {}

/** A {@link Logger} that discards everything: the default of the runtime components. */
export const silentBrokerLogger: Logger = Object.freeze({
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
});
