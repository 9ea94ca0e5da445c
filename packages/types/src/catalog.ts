import { z } from 'zod';
import { WireErrorSchema } from './wire-error.js';

/** One action of the catalog (`GET /code/actions`). */
export const CatalogActionSchema = z.object({
  /** Tool name (e.g. `user-service_listUsers`). */
  name: z.string().min(1),
  /** Human-readable description from the OpenAPI spec. */
  description: z.string().optional(),
  /** JSON Schema for the tool's input parameters. */
  inputSchema: z.record(z.string(), z.unknown()).optional(),
  /** Name of the service this action belongs to. */
  service: z.string(),
  /** Tags from the OpenAPI operation. */
  tags: z.array(z.string()).optional(),
  /** Whether the operation is deprecated. */
  deprecated: z.boolean().optional(),
  /**
   * JSON Schema of what a call returns, when the source describes it (an OpenAPI operation's
   * success response, an MCP tool's `outputSchema`). Absent from brokers that predate it.
   */
  outputSchema: z.record(z.string(), z.unknown()).optional(),
  /**
   * `true` when a call waits for a person's approval before it runs (the source's
   * `requiresApproval`); a denied call throws `APPROVAL_DENIED` inside the code. Absent otherwise.
   */
  requiresApproval: z.boolean().optional(),
});

/** One action of the catalog. */
export type CatalogAction = z.infer<typeof CatalogActionSchema>;

/** How a service's last poll went (see {@link CatalogServiceSchema}). */
export const CatalogServiceStatusSchema = z.enum(['ok', 'stale', 'unavailable']);

/** How a service's last poll went. */
export type CatalogServiceStatus = z.infer<typeof CatalogServiceStatusSchema>;

/** What kind of source a catalog service is. */
export const CatalogServiceKindSchema = z.enum(['openapi', 'mcp']);

/** What kind of source a catalog service is. */
export type CatalogServiceKind = z.infer<typeof CatalogServiceKindSchema>;

/** One connected service: an OpenAPI source or an MCP server. */
export const CatalogServiceSchema = z.object({
  /** Service name (from the source configuration). */
  name: z.string().min(1),
  /**
   * Internal spec URL: the OpenAPI document's, or an MCP server's endpoint (both without credentials,
   * query or fragment); `''` for an MCP server started as a local process.
   */
  specUrl: z.string(),
  /** ISO 8601 timestamp of the last successful spec poll. */
  lastUpdated: z.string(),
  /** Number of actions from this service. */
  actionCount: z.number().int().nonnegative(),
  /**
   * `ok`: the last poll succeeded (an MCP server: connected). `stale`: the last poll failed and the
   * actions of the last good document are still served (an MCP server: disconnected, its last tools
   * listed, their calls failing with `TOOL_SOURCE_UNAVAILABLE` until it is back). `unavailable`: no
   * poll (no connection) has succeeded yet, so the service has no actions. Absent from brokers that
   * predate it.
   */
  status: CatalogServiceStatusSchema.optional(),
  /** Why the last poll failed, when `status` is not `ok`. Never contains the source's headers. */
  error: WireErrorSchema.optional(),
  /** `openapi` or `mcp`. Absent from brokers that predate MCP servers (their services are OpenAPI). */
  kind: CatalogServiceKindSchema.optional(),
});

/** One connected OpenAPI service. */
export type CatalogService = z.infer<typeof CatalogServiceSchema>;

/** Response of `GET /code/actions`. */
export const CatalogResponseSchema = z.object({
  /** Available actions from all connected OpenAPI sources and MCP servers. */
  actions: z.array(CatalogActionSchema),
  /** Connected service descriptors (OpenAPI sources and MCP servers). */
  services: z.array(CatalogServiceSchema),
  /** Catalog version: a deterministic hash that changes when actions are added or removed. */
  version: z.string(),
});

/** Response of `GET /code/actions`. */
export type CatalogResponse = z.infer<typeof CatalogResponseSchema>;

/**
 * What changed in the catalog: the broker's `catalog:changed` event and the payload of the
 * `catalog_changed` stream event. Action names are sorted.
 */
export const CatalogChangeSchema = z.object({
  /** The catalog's new `version`. */
  version: z.string(),
  /** Actions that are new in this version. */
  addedActions: z.array(z.string()),
  /** Actions that are gone in this version. */
  removedActions: z.array(z.string()),
  /** Actions still present whose description, input schema, tags or deprecation changed. */
  updatedActions: z.array(z.string()).optional(),
});

/** What changed in the catalog. */
export type CatalogChange = z.infer<typeof CatalogChangeSchema>;

/** Response of `GET /code/declarations` when JSON is asked for (`Accept: application/json`). */
export const DeclarationsResponseSchema = z.object({
  /**
   * SHA-256 (hex) of `declarations`: equal texts have equal versions, so a client can tell whether
   * the tools changed since it last fetched them.
   */
  version: z.string(),
  /**
   * TypeScript ambient declarations (a script, not a module) of `tools`, `callTool` and `context` as
   * the sandboxed code sees them: every tool with its argument and result types and its description.
   */
  declarations: z.string(),
});

/** Response of `GET /code/declarations` as JSON. */
export type DeclarationsResponse = z.infer<typeof DeclarationsResponseSchema>;
