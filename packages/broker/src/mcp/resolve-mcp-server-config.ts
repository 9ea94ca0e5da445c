import { EnclaveError } from '@enclave-vm/types';
import { checkHeaders, displayUrlOf, globToRegExp, isServiceName } from '../catalog/resolve-source-config.js';
import type { McpServerConfig, McpToolInfo } from './mcp-server-config.js';

/** Default of `McpServerConfig.timeout`. */
export const DEFAULT_MCP_TIMEOUT = 10_000;

const STDIO_KEYS = new Set(['name', 'command', 'args', 'env', 'cwd', 'timeout', 'requiresApproval']);
const HTTP_KEYS = new Set(['name', 'url', 'headers', 'timeout', 'requiresApproval']);
/** Secrets shorter than this are not searched for in messages (they would match ordinary words). */
const MIN_SECRET_LENGTH = 4;

/** An MCP server's configuration, checked, with defaults applied. */
export type ResolvedMcpServerConfig =
  | (ResolvedBase & {
      readonly transport: 'stdio';
      readonly command: string;
      readonly args: readonly string[];
      readonly env: Readonly<Record<string, string>>;
      readonly cwd: string | undefined;
    })
  | (ResolvedBase & {
      readonly transport: 'http';
      readonly url: URL;
      /** Header names in lower case. */
      readonly headers: Readonly<Record<string, string>>;
    });

interface ResolvedBase {
  readonly name: string;
  readonly timeout: number;
  /** The endpoint as the catalog shows it (no credentials, query or fragment); `''` for a process. */
  readonly displayUrl: string;
  /** Values that must never be shown: header and environment values, URL credentials and query. */
  readonly secrets: readonly string[];
  /** Whether calls of a tool wait for a person's approval. */
  readonly requiresApproval: (tool: McpToolInfo) => boolean;
}

/**
 * Checks one MCP server configuration. Throws `CONFIGURATION_ERROR` naming the server and the field
 * for anything invalid (an unknown option, both or neither of `command` and `url`, a bad name, URL,
 * header or environment variable); messages never contain a header or environment value.
 */
export function resolveMcpServerConfig(config: McpServerConfig, index: number): ResolvedMcpServerConfig {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw configurationError(`mcpServers[${index}] must be an object`);
  }
  const raw = config as unknown as Record<string, unknown>;
  const label =
    typeof raw.name === 'string' ? `MCP server ${JSON.stringify(raw.name)}` : `mcpServers[${index}]`;
  const hasCommand = raw.command !== undefined;
  const hasUrl = raw.url !== undefined;
  if (hasCommand === hasUrl) {
    throw configurationError(`${label}: give either command (a local process) or url (Streamable HTTP)`);
  }
  const known = hasCommand ? STDIO_KEYS : HTTP_KEYS;
  const unknown = Object.keys(raw).filter((key) => !known.has(key));
  if (unknown.length > 0) {
    throw configurationError(
      `${label}: unknown option ${unknown.join(', ')}${hasCommand ? ' for a server started with command' : ' for a server reached at url'}`,
    );
  }
  if (!isServiceName(raw.name)) {
    throw configurationError(
      `${label}: name must be 1 to 64 letters, digits, "_", "." or "-", got ${JSON.stringify(raw.name)}`,
    );
  }
  const timeout = positiveInteger(label, 'timeout', raw.timeout, DEFAULT_MCP_TIMEOUT);
  const requiresApproval = approvalSelector(label, raw.requiresApproval);
  if (hasCommand) {
    if (typeof raw.command !== 'string' || raw.command.trim() === '') {
      throw configurationError(`${label}: command must be a non-empty string`);
    }
    const args = raw.args ?? [];
    if (!Array.isArray(args) || !args.every((argument) => typeof argument === 'string')) {
      throw configurationError(`${label}: args must be an array of strings`);
    }
    if (raw.cwd !== undefined && (typeof raw.cwd !== 'string' || raw.cwd === '')) {
      throw configurationError(`${label}: cwd must be a non-empty string`);
    }
    const env = checkEnvironment(label, raw.env);
    return {
      name: raw.name,
      transport: 'stdio',
      command: raw.command,
      args: [...args],
      env,
      cwd: raw.cwd as string | undefined,
      timeout,
      requiresApproval,
      displayUrl: '',
      secrets: secretsOf(Object.values(env)),
    };
  }
  let url: URL;
  try {
    url = new URL(String(raw.url));
  } catch (error) {
    throw configurationError(`${label}: url is not a URL`, error);
  }
  if (typeof raw.url !== 'string' || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw configurationError(`${label}: url must be an http(s) URL`);
  }
  const headers = checkHeaders(label, raw.headers);
  return {
    name: raw.name,
    transport: 'http',
    url,
    headers,
    timeout,
    requiresApproval,
    displayUrl: displayUrlOf(url),
    secrets: secretsOf([
      ...Object.values(headers),
      safelyDecoded(url.password),
      url.password,
      url.search.slice(1),
      ...[...url.searchParams.values()],
    ]),
  };
}

/**
 * The text with every secret replaced by `***`: error messages of a server or a transport may echo
 * what they were given.
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let redacted = text;
  for (const secret of secrets) redacted = redacted.split(secret).join('***');
  return redacted;
}

function safelyDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function secretsOf(values: readonly string[]): string[] {
  return [...new Set(values.filter((value) => value.length >= MIN_SECRET_LENGTH))].sort(
    (left, right) => right.length - left.length,
  );
}

function checkEnvironment(label: string, env: unknown): Record<string, string> {
  if (env === undefined) return {};
  if (typeof env !== 'object' || env === null || Array.isArray(env)) {
    throw configurationError(`${label}: env must be an object of variable names to string values`);
  }
  const checked: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!/^[^=\0]+$/.test(name)) {
      throw configurationError(`${label}: env: ${JSON.stringify(name)} is not a variable name`);
    }
    // The value is never named: it is usually a credential.
    if (typeof value !== 'string' || value.includes('\0')) {
      throw configurationError(`${label}: env: the value of ${name} must be a string without NUL characters`);
    }
    checked[name] = value;
  }
  return checked;
}

function approvalSelector(label: string, requirement: unknown): (tool: McpToolInfo) => boolean {
  if (requirement === undefined || requirement === false) return () => false;
  if (requirement === true) return () => true;
  if (typeof requirement === 'function') {
    const decide = requirement as (tool: McpToolInfo) => unknown;
    return (tool) => decide(tool) === true;
  }
  if (!Array.isArray(requirement) || requirement.some((pattern) => typeof pattern !== 'string')) {
    throw configurationError(
      `${label}: requiresApproval must be true, false, an array of tool name patterns or a function`,
    );
  }
  const patterns = (requirement as string[]).map(globToRegExp);
  return (tool) => patterns.some((pattern) => pattern.test(tool.tool) || pattern.test(tool.name));
}

function positiveInteger(label: string, field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw configurationError(`${label}: ${field} must be a positive integer of ms, got ${String(value)}`);
  }
  return value;
}

function configurationError(message: string, cause?: unknown): EnclaveError {
  return new EnclaveError('CONFIGURATION_ERROR', message, { cause });
}
