import type { Logger } from '@enclave-vm/types';
import type { EnclaveBroker } from '../enclave-broker.js';
import type { ActiveStreams } from './active-streams.js';
import type { RequestGuard } from './request-guard.js';

/** What every route of the broker app shares. */
export interface RouteContext {
  broker: EnclaveBroker;
  guard: RequestGuard;
  activeStreams: ActiveStreams;
  /** Largest accepted request body in bytes. */
  bodyLimit: number;
  /** Where server-side failures are reported. */
  logger: Logger;
}
