/** What an `include` / `exclude` function sees of one operation. */
export interface OpenApiOperationInfo {
  /** The tool name the operation gets, e.g. `user-service_listUsers`. */
  name: string;
  /** The operation's `operationId`, when the document gives one. */
  operationId?: string;
  /** HTTP method, upper case. */
  method: string;
  /** Path template as the document writes it, e.g. `/users/{id}`. */
  path: string;
  /** The operation's tags. */
  tags: string[];
  /** Whether the document marks the operation deprecated. */
  deprecated: boolean;
}

/**
 * Which operations of a source become actions. A list of patterns matches an operation when one of
 * them matches its `operationId`, its tool name, `METHOD /path` (e.g. `GET /users/{id}`) or
 * `tag:<tag>` for one of its tags; `*` in a pattern stands for any run of characters. A function
 * decides for itself.
 */
export type OpenApiOperationFilter = readonly string[] | ((operation: OpenApiOperationInfo) => boolean);

/**
 * An OpenAPI service whose operations become catalog actions, and tools that code calls as
 * `await tools['user-service_listUsers']({ limit: 10 })`.
 *
 * @example
 * const broker = createBroker({
 *   openApiSources: [
 *     {
 *       name: 'user-service',
 *       url: 'http://users.internal/openapi.json',
 *       headers: { authorization: `Bearer ${process.env.USERS_TOKEN}` },
 *       pollInterval: 60_000,
 *     },
 *   ],
 * });
 */
export interface OpenApiSourceConfig {
  /**
   * Service name: letters, digits, `_`, `.` and `-`, at most 64 characters, unique among the
   * sources. Action names are prefixed with it (`user-service_listUsers`).
   */
  name: string;
  /** Where the OpenAPI document (JSON or YAML; OpenAPI 3.0, 3.1 or Swagger 2.0) is fetched from: http(s). */
  url: string;
  /** Ms between polls of the document (conditional requests: an unchanged document costs a 304). @default 60000 */
  pollInterval?: number;
  /**
   * Headers sent with the document fetch and with every operation call, e.g. `authorization`. They
   * never appear in the catalog, in events or in logs. A header parameter the document declares
   * with the same name (any case) is not offered as an argument: these values are always sent.
   */
  headers?: Record<string, string>;
  /**
   * Where operation calls go, e.g. `https://users.internal/v2`. @default the document's first
   * server (`servers[0].url`, or Swagger 2.0's `host` + `basePath`), resolved against `url`
   */
  baseUrl?: string;
  /** Ms each document fetch and each operation call may take (tool timeouts and cancel also abort a call). @default 10000 */
  timeout?: number;
  /** Only operations that match become actions. @default every operation */
  include?: OpenApiOperationFilter;
  /** Operations that match do not become actions (applied after `include`). */
  exclude?: OpenApiOperationFilter;
  /**
   * Which actions wait for a person's approval before each call is sent (`approval_required`,
   * then `POST /sessions/:id/approvals`; a denial throws `APPROVAL_DENIED` in the code): `true` for
   * all, patterns or a function as for `include`. Every operation that changes something, for
   * example: `(operation) => operation.method !== 'GET'`, or
   * `['POST *', 'PUT *', 'PATCH *', 'DELETE *']`. Listed as `requiresApproval: true` in the catalog.
   * @default false
   */
  requiresApproval?: boolean | OpenApiOperationFilter;
  /**
   * Origins (`https://api.example.com`) besides the service's own that calls and redirects may go
   * to. The service's own origins are those of `url` and of `baseUrl`. A document whose servers
   * point elsewhere is refused (`OPENAPI_INVALID`), so a document cannot send the broker's
   * credentials or requests to another host.
   * @default []
   */
  allowedOrigins?: readonly string[];
}
