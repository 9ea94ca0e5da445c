import type { CatalogAction, Logger } from '@enclave-vm/types';
import { callOpenApiOperation } from './call-open-api-operation.js';
import type { CatalogSource, SourceStatus, SourceTool } from './catalog-source.js';
import type { OpenApiOperation } from './open-api-operation.js';
import { OpenApiSource } from './open-api-source.js';
import type { ResolvedSourceConfig } from './resolve-source-config.js';
import { stableStringify } from './stable-stringify.js';

/** An OpenAPI source as the catalog sees it: each operation a tool that sends its request. */
export class OpenApiCatalogSource implements CatalogSource {
  readonly name: string;
  readonly firstPoll: Promise<void>;
  private readonly source: OpenApiSource;
  private cached: { operations: readonly OpenApiOperation[]; tools: SourceTool[] } | undefined;

  constructor(config: ResolvedSourceConfig, options: { logger: Logger; onChange: () => void }) {
    this.name = config.name;
    this.source = new OpenApiSource(config, { logger: options.logger, onOperations: options.onChange });
    this.firstPoll = this.source.firstPoll;
  }

  tools(): readonly SourceTool[] {
    const { operations } = this.source.state;
    if (this.cached?.operations !== operations) {
      this.cached = { operations, tools: operations.map((operation) => this.toolOf(operation)) };
    }
    return this.cached.tools;
  }

  status(): SourceStatus {
    const state = this.source.state;
    return {
      specUrl: this.source.config.displayUrl,
      lastUpdated: state.lastUpdated,
      status: state.status,
      ...(state.error === undefined ? {} : { error: { ...state.error } }),
      kind: 'openapi',
    };
  }

  refresh(): Promise<void> {
    return this.source.poll();
  }

  async close(): Promise<void> {
    this.source.close();
  }

  private toolOf(operation: OpenApiOperation): SourceTool {
    const { config, agents } = this.source;
    const action = toCatalogAction(config.name, operation);
    return {
      action,
      description: action.description ?? `${operation.method} ${operation.path}`,
      callHash: stableStringify({
        method: operation.method,
        path: operation.path,
        serverUrl: operation.serverUrl.href,
        parameters: operation.parameters,
        body: operation.body ?? null,
      }),
      handler: (args, context) => callOpenApiOperation(operation, args, config, agents, context.signal),
    };
  }
}

function toCatalogAction(service: string, operation: OpenApiOperation): CatalogAction {
  return {
    name: operation.name,
    ...(operation.description === undefined ? {} : { description: operation.description }),
    inputSchema: operation.inputSchema,
    ...(operation.outputSchema === undefined ? {} : { outputSchema: operation.outputSchema }),
    service,
    tags: [...operation.tags],
    deprecated: operation.deprecated,
    ...(operation.requiresApproval ? { requiresApproval: true } : {}),
  };
}
