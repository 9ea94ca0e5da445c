import Fastify, { type FastifyInstance } from 'fastify';
import type { EnclaveBroker } from '../enclave-broker.js';
import { closeUnusedConnectionsOnClose } from './close-unused-connections.js';
import { enclaveBrokerPlugin } from './enclave-broker-plugin.js';
import { handleClientError } from './handle-client-error.js';
import { resolveBodyLimit } from './resolve-body-limit.js';
import { handleFrameworkError, sendError } from './send-error.js';

/** Longest route parameter routed; session ids are at most 128 characters. */
const MAX_PARAM_LENGTH = 128;

/** Options of {@link createBrokerApp}. */
export interface CreateBrokerAppOptions {
  /** Enable fastify's own request logging (pino, to stdout). @default false */
  logger?: boolean;
}

/**
 * Builds the broker's fastify application: every HTTP route of the broker, the WebSocket event
 * endpoint, authentication, rate limiting, CORS and error mapping, configured from
 * `broker.options`. The app is not listening yet; `broker.listen` calls this and `app.listen`.
 *
 * @example
 * const app = await createBrokerApp(broker);
 * await app.listen({ port: 0, host: '127.0.0.1' });
 */
export async function createBrokerApp(
  broker: EnclaveBroker,
  options: CreateBrokerAppOptions = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: resolveBodyLimit(broker.options.bodyLimit),
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Errors fastify raises before routing (bad URL encoding, an over-long parameter) get the
    // broker's error body too.
    frameworkErrors: handleFrameworkError,
    clientErrorHandler: handleClientError,
  });
  app.setErrorHandler((error: unknown, _request, reply) => sendError(reply, error, broker.logger));
  closeUnusedConnectionsOnClose(app);
  await app.register(enclaveBrokerPlugin, { broker, handleNotFound: true });
  return app;
}
