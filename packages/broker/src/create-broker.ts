import { EnclaveBroker } from './enclave-broker.js';
import type { BrokerOptions } from './options/broker-options.js';

/**
 * Creates a broker; the same as `new EnclaveBroker(options)`. Throws `CONFIGURATION_ERROR` for
 * invalid options.
 *
 * @example
 * const broker = createBroker({ securityLevel: 'SECURE' });
 * await broker.listen(3001);
 */
export function createBroker(options: BrokerOptions = {}): EnclaveBroker {
  return new EnclaveBroker(options);
}
