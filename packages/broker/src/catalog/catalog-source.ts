import type { CatalogAction, CatalogService } from '@enclave-vm/types';
import type { ExecutionContext } from '../tools/tool-types.js';

/** One tool a catalog source offers: its catalog action and how a call is made. */
export interface SourceTool {
  /** The action as `GET /code/actions` lists it (its `name` is the tool name). */
  readonly action: CatalogAction;
  /** The tool's description in the registry (the action's, or a stand-in when it has none). */
  readonly description: string;
  /**
   * Changes when calls would be made differently though the action looks the same (a new server URL,
   * another parameter style): the tool is registered again without a catalog change.
   */
  readonly callHash: string;
  /** Makes the call with checked arguments. */
  readonly handler: (args: Record<string, unknown>, context: ExecutionContext) => Promise<unknown>;
}

/** What a source shows in the catalog's list of services, beside its action count. */
export type SourceStatus = Omit<CatalogService, 'name' | 'actionCount'>;

/**
 * A source of catalog actions (an OpenAPI document, an MCP server). It reports a change of its tools
 * through the callback it was created with; the catalog then brings the registry in line with
 * {@link tools} at once.
 */
export interface CatalogSource {
  /** The service name: unique among the catalog's sources, the prefix of its tool names. */
  readonly name: string;
  /** Settles once the first attempt to load the tools has succeeded or failed. */
  readonly firstPoll: Promise<void>;
  /** The tools of the last successful load (empty until one). */
  tools(): readonly SourceTool[];
  status(): SourceStatus;
  /** Loads the tools again now; never rejects. */
  refresh(): Promise<void>;
  /** Stops loading and closes connections; calls made afterwards fail. */
  close(): Promise<void>;
}
