import { EnclaveError } from '@enclave-vm/types';
import type { FastifyInstance, HTTPMethods } from 'fastify';

/** Methods answered with 405 on a known path (OPTIONS is left to CORS preflight). */
const CHECKED_METHODS: readonly HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * For each known path, answers the methods it does not serve with `METHOD_NOT_ALLOWED` (405) and an
 * `Allow` header, before any body is read. `HEAD` is allowed wherever `GET` is.
 */
export function registerMethodNotAllowed(
  app: FastifyInstance,
  allowedByPath: Readonly<Record<string, readonly HTTPMethods[]>>,
): void {
  for (const [url, allowed] of Object.entries(allowedByPath)) {
    const permitted = allowed.includes('GET') ? [...allowed, 'HEAD'] : [...allowed];
    const refused = CHECKED_METHODS.filter((method) => !permitted.includes(method));
    if (refused.length === 0) continue;
    const allow = permitted.join(', ');
    app.route({
      method: refused,
      url,
      onRequest: async (request, reply) => {
        reply.header('allow', allow);
        throw new EnclaveError(
          'METHOD_NOT_ALLOWED',
          `${request.method} is not allowed on ${url}; allowed: ${allow}`,
        );
      },
      handler: async () => undefined,
    });
  }
}
