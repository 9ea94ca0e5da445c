/**
 * An OpenAPI service whose operations become catalog actions. Accepted by {@link CatalogHandler} for
 * its type; polling sources arrives in a later release, and until then passing any throws
 * `CONFIGURATION_ERROR`.
 */
export interface OpenApiSourceConfig {
  /** Service name; action names are prefixed with it (`user-service_listUsers`). */
  name: string;
  /** Where the OpenAPI document is fetched from. */
  url: string;
  /** Ms between polls of the document. */
  pollInterval?: number;
}
