import type { HealthResponse } from '@enclave-vm/types';
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../route-context.js';

/** `GET /health`: liveness and session counts. Public: no authentication, no rate limit. */
export function registerHealthRoute(app: FastifyInstance, context: RouteContext): void {
  app.get('/health', async (): Promise<HealthResponse> => context.broker.health());
}
