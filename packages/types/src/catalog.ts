import { z } from 'zod';

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
