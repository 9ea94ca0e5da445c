import { type CatalogResponse, EnclaveError } from '@enclave-vm/types';
import type { ToolRegistry } from '../tools/tool-registry.js';
import { computeCatalogVersion } from './compute-catalog-version.js';
import type { OpenApiSourceConfig } from './open-api-source-config.js';

/** One HTTP route of the catalog, in a shape any router can mount. */
export interface CatalogRoute {
  /** HTTP method, upper case. */
  method: 'GET';
  /** Route path. */
  path: string;
  /** Answers the catalog; returns the body (fastify sends a returned value as JSON). */
  handler: () => Promise<CatalogResponse>;
}

/**
 * Serves `GET /code/actions`: the actions derived from connected OpenAPI sources, the services they
 * come from, and a `version` hash that changes when actions are added or removed.
 *
 * Polling OpenAPI sources arrives in a later release. Until then the catalog is empty (`actions: []`,
 * `services: []`, the version of the empty source set), and passing a non-empty `openApiSources`
 * throws `CONFIGURATION_ERROR` rather than being ignored.
 *
 * @example
 * const catalog = new CatalogHandler(toolRegistry, openApiSources);
 * for (const route of catalog.getRoutes()) {
 *   app[route.method.toLowerCase()](route.path, route.handler);
 * }
 */
export class CatalogHandler {
  /** The registry that actions of connected sources are registered into, as tools. */
  readonly toolRegistry: ToolRegistry;
  /** The configured OpenAPI sources. */
  readonly openApiSources: readonly OpenApiSourceConfig[];
  private readonly catalog: CatalogResponse;

  /** Throws `CONFIGURATION_ERROR` for a missing registry or a non-empty source list. */
  constructor(toolRegistry: ToolRegistry, openApiSources: readonly OpenApiSourceConfig[] = []) {
    if (toolRegistry === null || typeof toolRegistry !== 'object') {
      throw new EnclaveError(
        'CONFIGURATION_ERROR',
        'CatalogHandler needs the ToolRegistry its actions belong to',
      );
    }
    if (!Array.isArray(openApiSources)) {
      throw new EnclaveError('CONFIGURATION_ERROR', 'openApiSources must be an array of OpenApiSourceConfig');
    }
    if (openApiSources.length > 0) {
      throw new EnclaveError(
        'CONFIGURATION_ERROR',
        `Polling OpenAPI sources is not available in this release; got ${openApiSources.length} source(s). ` +
          'Pass an empty list, or register the operations as tools.',
      );
    }
    this.toolRegistry = toolRegistry;
    this.openApiSources = Object.freeze([...openApiSources]);
    this.catalog = { actions: [], services: [], version: computeCatalogVersion([]) };
  }

  /** The current catalog. */
  getCatalog(): CatalogResponse {
    return {
      actions: [...this.catalog.actions],
      services: [...this.catalog.services],
      version: this.catalog.version,
    };
  }

  /** The routes to mount: `GET /code/actions`. */
  getRoutes(): CatalogRoute[] {
    return [{ method: 'GET', path: '/code/actions', handler: async () => this.getCatalog() }];
  }
}
