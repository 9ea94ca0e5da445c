import { EnclaveError } from '@enclave-vm/types';
import type {
  OpenApiOperationFilter,
  OpenApiOperationInfo,
  OpenApiSourceConfig,
} from './open-api-source-config.js';

/** Default of {@link OpenApiSourceConfig.pollInterval}. */
export const DEFAULT_POLL_INTERVAL = 60_000;
/** Default of {@link OpenApiSourceConfig.timeout}. */
export const DEFAULT_SOURCE_TIMEOUT = 10_000;
/** Shortest accepted poll interval. */
const MIN_POLL_INTERVAL = 100;

const SERVICE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Whether a value can name a service of the catalog: 1 to 64 letters, digits, `_`, `.` or `-`. */
export function isServiceName(value: unknown): value is string {
  return typeof value === 'string' && SERVICE_NAME.test(value);
}
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const KNOWN_KEYS = new Set([
  'name',
  'url',
  'pollInterval',
  'headers',
  'baseUrl',
  'timeout',
  'include',
  'exclude',
  'allowedOrigins',
  'requiresApproval',
]);

/** A source's configuration, checked and with defaults applied. */
export interface ResolvedSourceConfig {
  readonly name: string;
  readonly url: URL;
  /** The spec URL as the catalog shows it: without credentials, query or fragment. */
  readonly displayUrl: string;
  readonly pollInterval: number;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly baseUrl: URL | undefined;
  readonly timeout: number;
  /** Origins calls and redirects may go to: `url`'s, `baseUrl`'s and `allowedOrigins`. */
  readonly allowedOrigins: ReadonlySet<string>;
  /** Whether an operation becomes an action. */
  readonly selects: (operation: OpenApiOperationInfo) => boolean;
  /** Whether an action's calls wait for a person's approval. */
  readonly requiresApproval: (operation: OpenApiOperationInfo) => boolean;
}

/**
 * Checks one source configuration and applies defaults. Throws `CONFIGURATION_ERROR` naming the
 * source and the field for anything invalid; the message never contains header values.
 */
export function resolveSourceConfig(config: OpenApiSourceConfig, index: number): ResolvedSourceConfig {
  if (typeof config !== 'object' || config === null) {
    throw configurationError(`openApiSources[${index}] must be an object`);
  }
  const label =
    typeof config.name === 'string'
      ? `OpenAPI source ${JSON.stringify(config.name)}`
      : `openApiSources[${index}]`;
  const unknown = Object.keys(config).filter((key) => !KNOWN_KEYS.has(key));
  if (unknown.length > 0) throw configurationError(`${label}: unknown option ${unknown.join(', ')}`);
  if (!isServiceName(config.name)) {
    throw configurationError(
      `${label}: name must be 1 to 64 letters, digits, "_", "." or "-", got ${JSON.stringify(config.name)}`,
    );
  }
  const url = httpUrl(label, 'url', config.url);
  const baseUrl = config.baseUrl === undefined ? undefined : httpUrl(label, 'baseUrl', config.baseUrl);
  const allowedOrigins = new Set([url.origin]);
  if (baseUrl !== undefined) allowedOrigins.add(baseUrl.origin);
  if (config.allowedOrigins !== undefined) {
    if (!Array.isArray(config.allowedOrigins)) {
      throw configurationError(`${label}: allowedOrigins must be an array of origins`);
    }
    for (const origin of config.allowedOrigins) {
      const parsed = httpUrl(label, 'allowedOrigins', origin);
      if (parsed.origin !== String(origin).replace(/\/$/, '')) {
        throw configurationError(
          `${label}: allowedOrigins entries must be bare origins like https://api.example.com, got ${JSON.stringify(origin)}`,
        );
      }
      allowedOrigins.add(parsed.origin);
    }
  }
  return {
    name: config.name,
    url,
    displayUrl: displayUrlOf(url),
    pollInterval: integerAtLeast(
      label,
      'pollInterval',
      config.pollInterval,
      DEFAULT_POLL_INTERVAL,
      MIN_POLL_INTERVAL,
    ),
    headers: checkHeaders(label, config.headers),
    baseUrl,
    timeout: integerAtLeast(label, 'timeout', config.timeout, DEFAULT_SOURCE_TIMEOUT, 1),
    allowedOrigins,
    selects: selector(label, config.include, config.exclude),
    requiresApproval: approvalSelector(label, config.requiresApproval),
  };
}

/** A URL without credentials, query or fragment, safe to show. */
export function displayUrlOf(url: URL): string {
  const shown = new URL(url.href);
  shown.username = '';
  shown.password = '';
  shown.search = '';
  shown.hash = '';
  return shown.href;
}

function httpUrl(label: string, field: string, value: unknown): URL {
  let parsed: URL;
  try {
    parsed = new URL(String(value));
  } catch (error) {
    throw configurationError(`${label}: ${field} is not a URL`, error);
  }
  if (typeof value !== 'string' || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw configurationError(`${label}: ${field} must be an http(s) URL`);
  }
  return parsed;
}

function integerAtLeast(
  label: string,
  field: string,
  value: unknown,
  fallback: number,
  minimum: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum) {
    throw configurationError(`${label}: ${field} must be an integer ≥ ${minimum} (ms), got ${String(value)}`);
  }
  return value;
}

/**
 * Checks a source's `headers`: names are header names, values strings without line breaks. Returns
 * them with names in lower case. The messages never contain a value (it is usually a credential).
 */
export function checkHeaders(label: string, headers: unknown): Record<string, string> {
  if (headers === undefined) return {};
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw configurationError(`${label}: headers must be an object of header names to string values`);
  }
  const checked: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    // The value is never named: it is usually a credential.
    if (!HEADER_NAME.test(name))
      throw configurationError(`${label}: headers: ${JSON.stringify(name)} is not a header name`);
    if (typeof value !== 'string' || /[\r\n\0]/.test(value)) {
      throw configurationError(
        `${label}: headers: the value of ${name} must be a string without line breaks`,
      );
    }
    checked[name.toLowerCase()] = value;
  }
  return checked;
}

function selector(
  label: string,
  include: OpenApiOperationFilter | undefined,
  exclude: OpenApiOperationFilter | undefined,
): (operation: OpenApiOperationInfo) => boolean {
  const included = include === undefined ? () => true : matcher(label, 'include', include);
  const excluded = exclude === undefined ? () => false : matcher(label, 'exclude', exclude);
  return (operation) => included(operation) && !excluded(operation);
}

function approvalSelector(
  label: string,
  requirement: boolean | OpenApiOperationFilter | undefined,
): (operation: OpenApiOperationInfo) => boolean {
  if (requirement === undefined || requirement === false) return () => false;
  if (requirement === true) return () => true;
  return matcher(label, 'requiresApproval', requirement, 'true, false, ');
}

function matcher(
  label: string,
  field: string,
  filter: OpenApiOperationFilter,
  alternatives = '',
): (operation: OpenApiOperationInfo) => boolean {
  if (typeof filter === 'function') return (operation) => filter(operation) === true;
  if (!Array.isArray(filter) || filter.some((pattern) => typeof pattern !== 'string')) {
    throw configurationError(`${label}: ${field} must be ${alternatives}an array of patterns or a function`);
  }
  const patterns = filter.map(globToRegExp);
  return (operation) => {
    const candidates = [
      operation.name,
      `${operation.method} ${operation.path}`,
      ...operation.tags.map((tag) => `tag:${tag}`),
    ];
    if (operation.operationId !== undefined) candidates.push(operation.operationId);
    return patterns.some((pattern) => candidates.some((candidate) => pattern.test(candidate)));
  };
}

/** A `*` pattern (any run of characters) as an anchored regular expression. */
export function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*');
  return new RegExp(`^${escaped}$`, 's');
}

function configurationError(message: string, cause?: unknown): EnclaveError {
  return new EnclaveError('CONFIGURATION_ERROR', message, cause === undefined ? {} : { cause });
}
