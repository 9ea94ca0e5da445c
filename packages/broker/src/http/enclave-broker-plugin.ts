import { EnclaveError } from '@enclave-vm/types';
import fastifyCors from '@fastify/cors';
import fastifyWebsocket from '@fastify/websocket';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { EnclaveBroker } from '../enclave-broker.js';
import type { CorsOptions } from '../options/broker-options.js';
import { RedisSessionStore } from '../redis/redis-session-store.js';
import { ActiveStreams } from './active-streams.js';
import { RequestGuard, type RequestGuardOptions } from './request-guard.js';
import { resolveBodyLimit } from './resolve-body-limit.js';
import type { RouteContext } from './route-context.js';
import { registerApprovalsRoute } from './routes/register-approvals-route.js';
import { registerDeclarationsRoute } from './routes/register-declarations-route.js';
import { registerEventSocketRoute } from './routes/register-event-socket-route.js';
import { registerEventsRoute } from './routes/register-events-route.js';
import { registerExecuteRoute } from './routes/register-execute-route.js';
import { registerHealthRoute } from './routes/register-health-route.js';
import { registerMethodNotAllowed } from './routes/register-method-not-allowed.js';
import { registerSessionRoutes } from './routes/register-session-routes.js';
import { registerToolResultRoute } from './routes/register-tool-result-route.js';
import { sendError } from './send-error.js';

/** Largest WebSocket message accepted from a subscriber (a subscribe message is tiny). */
const MAX_SOCKET_MESSAGE_BYTES = 65_536;

/** Response headers a browser client may read across origins. */
const EXPOSED_HEADERS = [
  'x-session-id',
  'retry-after',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
];

/** Options of {@link enclaveBrokerPlugin}. */
export interface EnclaveBrokerPluginOptions {
  /** The broker whose sessions the routes serve; its options configure auth, limits, CORS, body size. */
  broker: EnclaveBroker;
  /**
   * Answer unknown paths under the plugin's prefix with the broker's `NOT_FOUND` body. Fastify allows
   * one not-found handler per prefix, so at the root of your own app this is left to you.
   * @default true when registered with a prefix, false without one
   */
  handleNotFound?: boolean;
}

/**
 * The broker's HTTP API as a fastify plugin, for mounting inside your own fastify app (with a
 * `prefix`). It registers every route (`POST /execute`, `GET|DELETE /sessions/:sessionId`,
 * `POST /sessions/:sessionId/tool-result`, `POST /sessions/:sessionId/approvals`, `GET /sessions/:sessionId/events`, the WebSocket
 * `GET /sessions/stream`, `GET /code/actions`, `GET /code/declarations`, `GET /health`), authentication, rate limiting, CORS
 * and the error format, all scoped to the plugin: your other routes are untouched. If your app uses
 * `@fastify/websocket` itself, or mounts this plugin more than once, register `@fastify/websocket`
 * once at the root before it, so that every mount shares one WebSocket server.
 *
 * @example
 * const app = Fastify();
 * await app.register(enclaveBrokerPlugin, { broker, prefix: '/enclave' });
 * await app.listen({ port: 3000 });
 */
export const enclaveBrokerPlugin: FastifyPluginAsync<EnclaveBrokerPluginOptions> = async (app, options) => {
  const broker = options?.broker;
  if (broker === undefined || broker === null || typeof broker.startSession !== 'function') {
    throw new EnclaveError('CONFIGURATION_ERROR', 'enclaveBrokerPlugin needs { broker }: an EnclaveBroker');
  }
  const brokerOptions = broker.options;
  const logger = broker.logger;
  const store = broker.store;
  let rateLimitRedis: RequestGuardOptions['rateLimitRedis'];
  if (brokerOptions.rateLimiting !== undefined && store instanceof RedisSessionStore) {
    // The counters live beside the sessions, so the limit counts every broker of the cluster.
    await store.open();
    rateLimitRedis = { connection: store.commandConnection, prefix: `${store.keyPrefix}rate:` };
  }
  const context: RouteContext = {
    broker,
    guard: await RequestGuard.create({
      authentication: brokerOptions.authentication,
      rateLimiting: brokerOptions.rateLimiting,
      rateLimitRedis,
      logger,
    }),
    activeStreams: new ActiveStreams(),
    bodyLimit: resolveBodyLimit(brokerOptions.bodyLimit),
    logger,
  };

  // Only JSON bodies: fastify's text/plain parser would let a string body reach validation.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler((error: unknown, _request: FastifyRequest, reply: FastifyReply) => {
    sendError(reply, error, logger);
  });
  if (options.handleNotFound ?? app.prefix !== '') {
    app.setNotFoundHandler((request, reply) => {
      const path = request.url.split('?', 1)[0] ?? '';
      sendError(reply, new EnclaveError('NOT_FOUND', `No route ${request.method} ${path.slice(0, 200)}`));
    });
  }
  if (brokerOptions.cors !== undefined && brokerOptions.cors !== false) {
    await app.register(fastifyCors, toFastifyCorsOptions(brokerOptions.cors));
  }
  if (!app.hasDecorator('websocketServer')) {
    await app.register(fastifyWebsocket, {
      options: { maxPayload: MAX_SOCKET_MESSAGE_BYTES },
      // A subscriber that vanishes mid-frame is routine, not an application error.
      errorHandler: (_error, socket) => socket.terminate(),
    });
  }
  app.addHook('preClose', async () => {
    context.activeStreams.stopAll();
  });

  registerExecuteRoute(app, context);
  registerEventSocketRoute(app, context);
  registerSessionRoutes(app, context);
  registerToolResultRoute(app, context);
  registerApprovalsRoute(app, context);
  registerEventsRoute(app, context);
  for (const route of broker.catalog.getRoutes()) {
    app.route({
      method: route.method,
      url: route.path,
      onRequest: context.guard.authenticateAndLimit,
      handler: route.handler,
    });
  }
  registerDeclarationsRoute(app, context);
  registerHealthRoute(app, context);
  registerMethodNotAllowed(app, {
    '/execute': ['POST'],
    '/sessions/stream': ['GET'],
    '/sessions/:sessionId': ['GET', 'DELETE'],
    '/sessions/:sessionId/tool-result': ['POST'],
    '/sessions/:sessionId/approvals': ['POST'],
    '/sessions/:sessionId/events': ['GET'],
    '/code/actions': ['GET'],
    '/code/declarations': ['GET'],
    '/health': ['GET'],
  });
};

function toFastifyCorsOptions(cors: Exclude<CorsOptions, false>) {
  const shared = {
    methods: ['GET', 'HEAD', 'POST', 'DELETE'],
    exposedHeaders: EXPOSED_HEADERS,
  };
  if (cors === true) return { ...shared, origin: '*' };
  return { ...shared, origin: cors.origin, credentials: cors.credentials ?? false };
}
