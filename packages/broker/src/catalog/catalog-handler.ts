import type {
  CatalogAction,
  CatalogChange,
  CatalogResponse,
  CatalogService,
  Emitter,
  Logger,
  Unsubscribe,
} from '@enclave-vm/types';
import { EnclaveError } from '@enclave-vm/types';
import type { McpServerConfig } from '../mcp/mcp-server-config.js';
import { McpServerSource } from '../mcp/mcp-server-source.js';
import { resolveMcpServerConfig } from '../mcp/resolve-mcp-server-config.js';
import { ToolRegistry } from '../tools/tool-registry.js';
import type { ToolDefinition } from '../tools/tool-types.js';
import type { CatalogSource } from './catalog-source.js';
import { computeActionHash, computeCatalogVersion, computeSpecHash } from './compute-catalog-version.js';
import { OpenApiCatalogSource } from './open-api-catalog-source.js';
import type { OpenApiSourceConfig } from './open-api-source-config.js';
import { resolveSourceConfig } from './resolve-source-config.js';

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
  /**
   * MCP servers whose tools become actions and tools (`${name}_${tool}`), beside the OpenAPI
   * sources; their names share one namespace with the sources'. @default []
   */
  mcpServers?: readonly McpServerConfig[];
}

/** Listener of {@link CatalogHandler.on} `'changed'`. */
export type CatalogChangeListener = (change: CatalogChange) => void;

/** What the handler keeps of one action it registered as a tool. */
interface RegisteredAction {
  readonly action: CatalogAction;
  readonly hash: string;
  /** How calls are made: a change re-registers the tool without changing the catalog. */
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
 * any request goes out), and every tool of the configured MCP servers too (`${server}_${tool}`),
 * keeps them current (polling each OpenAPI source, listening to each MCP server's
 * `notifications/tools/list_changed`), and serves `GET /code/actions` — the actions, the services
 * they come from (with `status` and `error` when one is failing), and a `version` hash that changes
 * when actions are added, removed or described differently. Polling and connecting start at
 * construction; `close()` stops them and removes the catalog's tools.
 * `createBroker({ openApiSources, mcpServers })` makes one for the broker (`broker.catalog`).
 *
 * @example
 * const catalog = new CatalogHandler(toolRegistry, openApiSources);
 * for (const route of catalog.getRoutes()) {
 *   app[route.method.toLowerCase()](route.path, route.handler);
 * }
 */
export class CatalogHandler implements AsyncDisposable, Emitter<{ changed: CatalogChangeListener }> {
  /** The registry that actions of connected sources are registered into, as tools. */
  readonly toolRegistry: ToolRegistry;
  /** The configured OpenAPI sources, as given. */
  readonly openApiSources: readonly OpenApiSourceConfig[];
  /** The configured MCP servers, as given. */
  readonly mcpServers: readonly McpServerConfig[];
  private readonly logger: Logger;
  private readonly sources: CatalogSource[];
  private readonly registered = new Map<string, Map<string, RegisteredAction>>();
  private readonly listeners = new Set<CatalogChangeListener>();
  private readonly firstPolls: Promise<void>;
  private version: string;
  private isClosed = false;

  /**
   * Checks the sources and MCP servers and starts polling and connecting. Throws
   * `CONFIGURATION_ERROR` for a missing registry, an invalid source or server (unknown option, bad
   * URL, bad header, non-positive interval…) or two of them with the same name. One that cannot be
   * reached does not throw: it is listed with its error and retried.
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
    const mcpServers = options.mcpServers ?? [];
    if (!Array.isArray(mcpServers)) {
      throw new EnclaveError('CONFIGURATION_ERROR', 'mcpServers must be an array of McpServerConfig');
    }
    const configs = openApiSources.map((source, index) => resolveSourceConfig(source, index));
    const serverConfigs = mcpServers.map((server, index) => resolveMcpServerConfig(server, index));
    const names = new Map<string, 'OpenAPI source' | 'MCP server'>();
    const kinds = [
      ...configs.map((config) => ({ name: config.name, kind: 'OpenAPI source' as const })),
      ...serverConfigs.map((config) => ({ name: config.name, kind: 'MCP server' as const })),
    ];
    for (const { name, kind } of kinds) {
      const taken = names.get(name);
      if (taken !== undefined) {
        throw new EnclaveError(
          'CONFIGURATION_ERROR',
          taken === kind
            ? `Two ${kind}s are named ${JSON.stringify(name)}`
            : `An OpenAPI source and an MCP server are both named ${JSON.stringify(name)}`,
        );
      }
      names.set(name, kind);
    }
    this.toolRegistry = toolRegistry;
    this.openApiSources = Object.freeze([...openApiSources]);
    this.mcpServers = Object.freeze([...mcpServers]);
    this.logger = options.logger ?? consoleLogger;
    this.version = computeCatalogVersion([...names.keys()].map((name) => computeSpecHash(name, [])));
    const sources: CatalogSource[] = [];
    const onChange = (source: () => CatalogSource | undefined) => () => {
      const changed = source();
      if (changed !== undefined) this.sync(changed);
    };
    for (const config of configs) {
      const index = sources.length;
      sources.push(
        new OpenApiCatalogSource(config, { logger: this.logger, onChange: onChange(() => sources[index]) }),
      );
    }
    for (const config of serverConfigs) {
      const index = sources.length;
      sources.push(
        new McpServerSource(config, { logger: this.logger, onChange: onChange(() => sources[index]) }),
      );
    }
    this.sources = sources;
    this.firstPolls = Promise.all(this.sources.map((source) => source.firstPoll)).then(() => undefined);
  }

  /**
   * Resolves once every source's first poll, and every MCP server's first connection attempt, has
   * finished, successfully or not (each is bounded by its `timeout`). The broker waits for it before
   * it starts a session.
   */
  ready(): Promise<void> {
    return this.firstPolls;
  }

  /**
   * Polls every source now instead of at its next interval, lists every connected MCP server's tools
   * again and tries to connect the others now, and resolves once the catalog reflects the answers (a
   * `'changed'` event, when something changed, has been emitted by then).
   */
  async refresh(): Promise<void> {
    await Promise.all(this.sources.map((source) => source.refresh()));
  }

  /**
   * Listens to catalog changes: the listener gets `{ version, addedActions, removedActions,
   * updatedActions }` right after the registry gained and lost the tools. Returns the function that
   * removes the listener.
   */
  on(event: 'changed', listener: CatalogChangeListener): Unsubscribe {
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
      const registered = [...(this.registered.get(source.name)?.values() ?? [])];
      actions.push(...registered.map((entry) => structuredClone(entry.action)));
      const { specUrl, lastUpdated, status, error, kind } = source.status();
      services.push({
        name: source.name,
        specUrl,
        lastUpdated,
        actionCount: registered.length,
        ...(status === undefined ? {} : { status }),
        ...(error === undefined ? {} : { error }),
        ...(kind === undefined ? {} : { kind }),
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

  /**
   * Stops polling, closes the MCP connections (stopping the processes it started), and removes the
   * catalog's tools from the registry (no `'changed'` event). Idempotent.
   */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    await Promise.all(this.sources.map((source) => source.close()));
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

  /** Brings the registry in line with a source's new tools, at once, and reports the change. */
  private sync(source: CatalogSource): void {
    if (this.isClosed) return;
    const service = source.name;
    const before = this.registered.get(service) ?? new Map<string, RegisteredAction>();
    const after = new Map<string, RegisteredAction>();
    const added: string[] = [];
    const updated: string[] = [];
    const next = new Map(source.tools().map((tool) => [tool.action.name, tool]));
    for (const [name, entry] of before) {
      if (!next.has(name) && this.toolRegistry.get(name) === entry.definition)
        this.toolRegistry.unregister(name);
    }
    for (const [name, tool] of next) {
      const { action } = tool;
      const hash = computeActionHash(action);
      const previous = before.get(name);
      const stillOurs = previous !== undefined && this.toolRegistry.get(name) === previous.definition;
      if (stillOurs && previous.hash === hash && previous.callHash === tool.callHash) {
        after.set(name, previous);
        continue;
      }
      if (stillOurs) this.toolRegistry.unregister(name);
      if (this.toolRegistry.has(name)) {
        this.logger.warn(`Action ${name} is left out: a tool with that name is already registered`, {
          source: service,
          action: name,
        });
        continue;
      }
      this.toolRegistry.registerJsonSchemaTool(name, {
        description: tool.description,
        inputSchema: action.inputSchema ?? {},
        ...(action.outputSchema === undefined ? {} : { outputSchema: action.outputSchema }),
        ...(action.deprecated === true ? { deprecated: true } : {}),
        ...(action.requiresApproval === true ? { requiresApproval: true } : {}),
        handler: tool.handler,
      });
      const definition = this.toolRegistry.get(name) as ToolDefinition;
      after.set(name, { action, hash, callHash: tool.callHash, definition });
      if (previous === undefined) added.push(name);
      else if (previous.hash !== hash) updated.push(name);
    }
    const removed = [...before.keys()].filter((name) => !after.has(name));
    this.registered.set(service, after);
    const version = computeCatalogVersion(
      this.sources.map((candidate) =>
        computeSpecHash(
          candidate.name,
          [...(this.registered.get(candidate.name)?.values() ?? [])].map((entry) => entry.action),
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
