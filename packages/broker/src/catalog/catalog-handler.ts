import type { CatalogAction, CatalogChange, CatalogResponse, CatalogService } from '@enclave-vm/types';
import { EnclaveError } from '@enclave-vm/types';
import type { Logger } from '../options/broker-options.js';
import { ToolRegistry } from '../tools/tool-registry.js';
import type { ToolDefinition } from '../tools/tool-types.js';
import { callOpenApiOperation } from './call-open-api-operation.js';
import { computeActionHash, computeCatalogVersion, computeSpecHash } from './compute-catalog-version.js';
import type { OpenApiOperation } from './open-api-operation.js';
import { OpenApiSource } from './open-api-source.js';
import type { OpenApiSourceConfig } from './open-api-source-config.js';
import { resolveSourceConfig } from './resolve-source-config.js';
import { stableStringify } from './stable-stringify.js';

/** One HTTP route of the catalog, in a shape any router can mount. */
export interface CatalogRoute {
  /** HTTP method, upper case. */
  method: 'GET';
  /** Route path. */
  path: string;
  /**
   * Answers the catalog once every source's first poll has finished; returns the body (fastify and
   * most routers send a returned object as JSON).
   */
  handler: () => Promise<CatalogResponse>;
}

/** Options of {@link CatalogHandler}. */
export interface CatalogHandlerOptions {
  /** Where failed polls and skipped actions are reported (never with the sources' headers). @default console warnings */
  logger?: Logger;
}

/** Listener of {@link CatalogHandler.on} `'changed'`. */
export type CatalogChangeListener = (change: CatalogChange) => void;

/** What the handler keeps of one action it registered as a tool. */
interface RegisteredAction {
  readonly action: CatalogAction;
  readonly hash: string;
  /** Hash of where and how calls are sent: a change re-registers the tool without changing the catalog. */
  readonly callHash: string;
  readonly definition: ToolDefinition;
}

const consoleLogger: Logger = {
  debug(): void {},
  info(): void {},
  warn(message, data) {
    console.warn(`[enclave-catalog] ${message}`, data ?? '');
  },
  error(message, data) {
    console.error(`[enclave-catalog] ${message}`, data ?? '');
  },
};

/**
 * The action catalog: turns every operation of the configured OpenAPI sources into a tool of the
 * registry (`${service}_${operationId}`, arguments checked against the operation's JSON Schema before
 * any request goes out), keeps them current by polling each source, and serves
 * `GET /code/actions` — the actions, the services they come from (with `status` and `error` when a
 * source is failing), and a `version` hash that changes when actions are added, removed or described
 * differently. Polling starts at construction; `close()` stops it and removes the catalog's tools.
 * `createBroker({ openApiSources })` makes one for the broker (`broker.catalog`).
 *
 * @example
 * const catalog = new CatalogHandler(toolRegistry, openApiSources);
 * for (const route of catalog.getRoutes()) {
 *   app[route.method.toLowerCase()](route.path, route.handler);
 * }
 */
export class CatalogHandler implements AsyncDisposable {
  /** The registry that actions of connected sources are registered into, as tools. */
  readonly toolRegistry: ToolRegistry;
  /** The configured OpenAPI sources, as given. */
  readonly openApiSources: readonly OpenApiSourceConfig[];
  private readonly logger: Logger;
  private readonly sources: OpenApiSource[];
  private readonly registered = new Map<string, Map<string, RegisteredAction>>();
  private readonly listeners = new Set<CatalogChangeListener>();
  private readonly firstPolls: Promise<void>;
  private version: string;
  private isClosed = false;

  /**
   * Checks the sources and starts polling them. Throws `CONFIGURATION_ERROR` for a missing registry,
   * an invalid source (unknown option, bad URL, bad header, non-positive interval…) or two sources
   * with the same name. A source that cannot be reached does not throw: it is listed with its error
   * and retried.
   */
  constructor(
    toolRegistry: ToolRegistry,
    openApiSources: readonly OpenApiSourceConfig[] = [],
    options: CatalogHandlerOptions = {},
  ) {
    if (!(toolRegistry instanceof ToolRegistry)) {
      throw new EnclaveError(
        'CONFIGURATION_ERROR',
        'CatalogHandler needs the ToolRegistry its actions belong to',
      );
    }
    if (!Array.isArray(openApiSources)) {
      throw new EnclaveError('CONFIGURATION_ERROR', 'openApiSources must be an array of OpenApiSourceConfig');
    }
    const configs = openApiSources.map((source, index) => resolveSourceConfig(source, index));
    const names = new Set<string>();
    for (const config of configs) {
      if (names.has(config.name)) {
        throw new EnclaveError(
          'CONFIGURATION_ERROR',
          `Two OpenAPI sources are named ${JSON.stringify(config.name)}`,
        );
      }
      names.add(config.name);
    }
    this.toolRegistry = toolRegistry;
    this.openApiSources = Object.freeze([...openApiSources]);
    this.logger = options.logger ?? consoleLogger;
    this.version = computeCatalogVersion(configs.map((config) => computeSpecHash(config.name, [])));
    this.sources = configs.map(
      (config) =>
        new OpenApiSource(config, {
          logger: this.logger,
          onOperations: (source) => this.sync(source),
        }),
    );
    this.firstPolls = Promise.all(this.sources.map((source) => source.firstPoll)).then(() => undefined);
  }

  /**
   * Resolves once every source's first poll has finished, successfully or not (each is bounded by
   * its `timeout`). The broker waits for it before it starts a session.
   */
  ready(): Promise<void> {
    return this.firstPolls;
  }

  /**
   * Polls every source now instead of at its next interval, and resolves once the catalog reflects
   * the answers (a `'changed'` event, when something changed, has been emitted by then).
   */
  async refresh(): Promise<void> {
    await Promise.all(this.sources.map((source) => source.poll()));
  }

  /**
   * Listens to catalog changes: the listener gets `{ version, addedActions, removedActions,
   * updatedActions }` right after the registry gained and lost the tools. Returns the function that
   * removes the listener.
   */
  on(event: 'changed', listener: CatalogChangeListener): () => void {
    if (event !== 'changed')
      throw new EnclaveError('CONFIGURATION_ERROR', `Unknown catalog event ${String(event)}`);
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** The current catalog (what `GET /code/actions` answers). */
  getCatalog(): CatalogResponse {
    const actions: CatalogAction[] = [];
    const services: CatalogService[] = [];
    for (const source of this.sources) {
      const registered = [...(this.registered.get(source.config.name)?.values() ?? [])];
      actions.push(...registered.map((entry) => structuredClone(entry.action)));
      const state = source.state;
      services.push({
        name: source.config.name,
        specUrl: source.config.displayUrl,
        lastUpdated: state.lastUpdated,
        actionCount: registered.length,
        status: state.status,
        ...(state.error === undefined ? {} : { error: { ...state.error } }),
      });
    }
    return { actions, services, version: this.version };
  }

  /** The routes to mount: `GET /code/actions`. */
  getRoutes(): CatalogRoute[] {
    return [
      {
        method: 'GET',
        path: '/code/actions',
        handler: async () => {
          await this.ready();
          return this.getCatalog();
        },
      },
    ];
  }

  /** Stops polling and removes the catalog's tools from the registry (no `'changed'` event). Idempotent. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const source of this.sources) source.close();
    for (const actions of this.registered.values()) {
      for (const [name, entry] of actions) {
        if (this.toolRegistry.get(name) === entry.definition) this.toolRegistry.unregister(name);
      }
    }
    this.registered.clear();
    this.listeners.clear();
  }

  /** Same as {@link close}, for `await using catalog = new CatalogHandler(…)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Brings the registry in line with a source's new operations, at once, and reports the change. */
  private sync(source: OpenApiSource): void {
    if (this.isClosed) return;
    const service = source.config.name;
    const before = this.registered.get(service) ?? new Map<string, RegisteredAction>();
    const after = new Map<string, RegisteredAction>();
    const added: string[] = [];
    const updated: string[] = [];
    const next = new Map(source.state.operations.map((operation) => [operation.name, operation]));
    for (const [name, entry] of before) {
      if (!next.has(name) && this.toolRegistry.get(name) === entry.definition)
        this.toolRegistry.unregister(name);
    }
    for (const operation of next.values()) {
      const action = toCatalogAction(service, operation);
      const hash = computeActionHash(action);
      const callHash = computeCallHash(operation);
      const previous = before.get(operation.name);
      const stillOurs =
        previous !== undefined && this.toolRegistry.get(operation.name) === previous.definition;
      if (stillOurs && previous.hash === hash && previous.callHash === callHash) {
        after.set(operation.name, previous);
        continue;
      }
      if (stillOurs) this.toolRegistry.unregister(operation.name);
      if (this.toolRegistry.has(operation.name)) {
        this.logger.warn(
          `OpenAPI action ${operation.name} is left out: a tool with that name is already registered`,
          {
            source: service,
            action: operation.name,
          },
        );
        continue;
      }
      this.toolRegistry.registerJsonSchemaTool(operation.name, {
        description: action.description ?? `${operation.method} ${operation.path}`,
        inputSchema: operation.inputSchema,
        handler: (args, context) =>
          callOpenApiOperation(operation, args, source.config, source.agents, context.signal),
      });
      const definition = this.toolRegistry.get(operation.name) as ToolDefinition;
      after.set(operation.name, { action, hash, callHash, definition });
      if (previous === undefined) added.push(operation.name);
      else if (previous.hash !== hash) updated.push(operation.name);
    }
    const removed = [...before.keys()].filter((name) => !after.has(name));
    this.registered.set(service, after);
    const version = computeCatalogVersion(
      this.sources.map((candidate) =>
        computeSpecHash(
          candidate.config.name,
          [...(this.registered.get(candidate.config.name)?.values() ?? [])].map((entry) => entry.action),
        ),
      ),
    );
    if (version === this.version) return;
    this.version = version;
    const change: CatalogChange = {
      version,
      addedActions: added.sort(),
      removedActions: removed.sort(),
      updatedActions: updated.sort(),
    };
    this.logger.info('The action catalog changed', {
      version,
      added: change.addedActions.length,
      removed: change.removedActions.length,
      updated: change.updatedActions?.length ?? 0,
    });
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch (error) {
        this.logger.error('A catalog change listener failed', {
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }
}

function computeCallHash(operation: OpenApiOperation): string {
  return stableStringify({
    method: operation.method,
    path: operation.path,
    serverUrl: operation.serverUrl.href,
    parameters: operation.parameters,
    body: operation.body ?? null,
  });
}

function toCatalogAction(service: string, operation: OpenApiOperation): CatalogAction {
  return {
    name: operation.name,
    ...(operation.description === undefined ? {} : { description: operation.description }),
    inputSchema: operation.inputSchema,
    service,
    tags: [...operation.tags],
    deprecated: operation.deprecated,
  };
}
