import { createHash } from 'node:crypto';
import type { DeclarationsResponse } from '@enclave-vm/types';
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../route-context.js';

/**
 * `GET /code/declarations`: TypeScript declarations of every tool of the broker
 * (`broker.tools.getTypeDeclarations()`), as `text/plain`, or as {@link DeclarationsResponse}
 * `{ version, declarations }` when the `Accept` header prefers `application/json`. Answers once every
 * catalog source's first poll has finished, like `GET /code/actions`.
 */
export function registerDeclarationsRoute(app: FastifyInstance, context: RouteContext): void {
  const { broker, guard } = context;
  let hashed: { declarations: string; version: string } | undefined;
  app.get(
    '/code/declarations',
    { onRequest: guard.authenticateAndLimit },
    async (request, reply): Promise<DeclarationsResponse | string> => {
      await broker.catalog.ready();
      const declarations = broker.tools.getTypeDeclarations();
      if (hashed?.declarations !== declarations) {
        hashed = { declarations, version: createHash('sha256').update(declarations).digest('hex') };
      }
      reply.header('vary', 'accept');
      if (prefersJson(request.headers.accept)) {
        reply.type('application/json; charset=utf-8');
        return { version: hashed.version, declarations };
      }
      reply.type('text/plain; charset=utf-8');
      return declarations;
    },
  );
}

/**
 * Whether an `Accept` header asks for JSON rather than text: `application/json` is listed, with a
 * quality above 0 and not below the best of `text/plain`, `text/*` and `*\/*`. Without a header, or
 * with only wildcards, the answer is text.
 */
export function prefersJson(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  let json = 0;
  let text = 0;
  for (const range of accept.split(',')) {
    const [mediaType = '', ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    const qualityParameter = parameters.find((parameter) => parameter.startsWith('q='));
    const quality = qualityParameter === undefined ? 1 : Number(qualityParameter.slice(2));
    if (!Number.isFinite(quality)) continue;
    if (mediaType === 'application/json') json = Math.max(json, quality);
    else if (mediaType === 'text/plain' || mediaType === 'text/*' || mediaType === '*/*') {
      text = Math.max(text, quality);
    }
  }
  return json > 0 && json >= text;
}
