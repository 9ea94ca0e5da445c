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
});

/** One action of the catalog. */
export type CatalogAction = z.infer<typeof CatalogActionSchema>;

/** How a service's last poll went (see {@link CatalogServiceSchema}). */
export const CatalogServiceStatusSchema = z.enum(['ok', 'stale', 'unavailable']);

/** How a service's last poll went. */
export type CatalogServiceStatus = z.infer<typeof CatalogServiceStatusSchema>;

/** One connected OpenAPI service. */
export const CatalogServiceSchema = z.object({
  /** Service name (from the source configuration). */
  name: z.string().min(1),
  /** Internal spec URL. */
  specUrl: z.string(),
  /** ISO 8601 timestamp of the last successful spec poll. */
  lastUpdated: z.string(),
  /** Number of actions from this service. */
  actionCount: z.number().int().nonnegative(),
  /**
   * `ok`: the last poll succeeded. `stale`: the last poll failed and the actions of the last good
   * document are still served. `unavailable`: no poll has succeeded yet, so the service has no
   * actions. Absent from brokers that predate it.
   */
  status: CatalogServiceStatusSchema.optional(),
  /** Why the last poll failed, when `status` is not `ok`. Never contains the source's headers. */
  error: WireErrorSchema.optional(),
});

/** One connected OpenAPI service. */
export type CatalogService = z.infer<typeof CatalogServiceSchema>;

/** Response of `GET /code/actions`. */
export const CatalogResponseSchema = z.object({
  /** Available actions from all connected OpenAPI sources. */
  actions: z.array(CatalogActionSchema),
  /** Connected OpenAPI service descriptors. */
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
