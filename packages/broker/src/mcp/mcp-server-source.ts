import { computeBackoffDelay } from '@enclave-vm/stream';
import {
  type CatalogServiceStatus,
  EnclaveError,
  type Logger,
  PROTOCOL_VERSION,
  type WireError,
} from '@enclave-vm/types';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  ErrorCode,
  McpError,
  type Tool,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { abortReason } from '../catalog/abort-reason.js';
import { fitToolName, sanitizeNamePart } from '../catalog/assign-tool-names.js';
import type { CatalogSource, SourceStatus, SourceTool } from '../catalog/catalog-source.js';
import type { ExecutionContext } from '../tools/tool-types.js';
import { toolResultOf } from './mcp-tool-result.js';
import { type ResolvedMcpServerConfig, redactSecrets } from './resolve-mcp-server-config.js';

/** First reconnection delay after a failure, in ms (then doubling, with 20 % jitter). */
const FIRST_RETRY_DELAY = 1_000;
/** Longest wait between two connection attempts. */
const MAX_RETRY_DELAY = 30_000;
/** Calls are bounded by the session's tool timeout (their signal), not by the SDK's own default. */
const CALL_TIMEOUT = 2_147_483_647;
/** Tools read at most from one server (pages are followed until then). */
const MAX_TOOLS = 10_000;
const CLIENT_INFO = { name: 'enclavejs-broker', version: PROTOCOL_VERSION };

/** Options of {@link McpServerSource}. */
export interface McpServerSourceOptions {
  logger: Logger;
  /** Called after the server's list of tools was read and differs from the last one. */
  onChange: () => void;
}

/** A connection to the server, with what was read over it. */
interface Connection {
  readonly client: Client;
  readonly transport: Transport;
  /** A check of the connection after a transport error, while one runs. */
  probing?: Promise<void>;
}

/**
 * One MCP server as a source of the catalog, through the official SDK client: connects (starting
 * the process for a stdio server), reads the tools (following pages) and offers each as
 * `${server}_${tool}`, reads them again on `notifications/tools/list_changed`, and sends calls.
 *
 * A server that cannot be reached at start, or is lost later (its process exits, its HTTP endpoint
 * stops answering), is reconnected with backoff — 1 s, doubling, at most 30 s, 20 % jitter — and
 * listed with its error meanwhile; its tools (from the last listing) stay in the catalog, and their
 * calls fail at once with `TOOL_SOURCE_UNAVAILABLE` without being sent. Header and environment values
 * never reach a log line, an error or the catalog.
 */
export class McpServerSource implements CatalogSource {
  readonly name: string;
  readonly firstPoll: Promise<void>;
  private readonly config: ResolvedMcpServerConfig;
  private readonly options: McpServerSourceOptions;
  private connection: Connection | undefined;
  private listed: SourceTool[] = [];
  private listedKey = '';
  private lastUpdated = '';
  private error: WireError | undefined = {
    code: 'TOOL_SOURCE_UNAVAILABLE',
    message: 'The first connection attempt has not finished yet',
  };
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;
  private listing: Promise<void> | undefined;
  private listAgain = false;
  private isClosed = false;

  constructor(config: ResolvedMcpServerConfig, options: McpServerSourceOptions) {
    this.name = config.name;
    this.config = config;
    this.options = options;
    this.firstPoll = this.connect();
  }

  tools(): readonly SourceTool[] {
    return this.listed;
  }

  status(): SourceStatus {
    const status: CatalogServiceStatus =
      this.connection !== undefined ? 'ok' : this.lastUpdated === '' ? 'unavailable' : 'stale';
    return {
      specUrl: this.config.displayUrl,
      lastUpdated: this.lastUpdated,
      status,
      ...(status === 'ok' || this.error === undefined ? {} : { error: { ...this.error } }),
      kind: 'mcp',
    };
  }

  /** Connected: reads the tools again. Not connected: tries to connect now instead of waiting. */
  async refresh(): Promise<void> {
    if (this.isClosed) return;
    const connection = this.connection;
    if (connection !== undefined) {
      await this.listTools(connection);
      return;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.connect();
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const connection = this.connection;
    this.connection = undefined;
    await this.connecting?.catch(() => undefined);
    if (connection !== undefined) await closeQuietly(connection.client);
  }

  /**
   * Calls a tool of the server with checked arguments. Fails with `TOOL_SOURCE_UNAVAILABLE` at once
   * when the server is not connected (and when the connection breaks during the call), with
   * `TOOL_ERROR` when the tool reports an error (`isError`, its text as the message) or the server
   * answers the request with an error, and with the signal's reason when the session's tool timeout
   * passes or the session is cancelled (the server is told with `notifications/cancelled`).
   */
  async call(toolName: string, args: Record<string, unknown>, context: ExecutionContext): Promise<unknown> {
    const connection = this.connection;
    if (connection === undefined) throw this.unavailable();
    if (context.signal.aborted) throw abortReason(context.signal);
    let result: Awaited<ReturnType<Client['callTool']>>;
    try {
      result = await connection.client.callTool({ name: toolName, arguments: args }, undefined, {
        signal: context.signal,
        timeout: CALL_TIMEOUT,
      });
    } catch (error) {
      if (context.signal.aborted) throw abortReason(context.signal);
      if (isConnectionFailure(error)) {
        this.lost(connection, error);
        throw this.unavailable();
      }
      throw new EnclaveError(
        'TOOL_ERROR',
        `MCP server ${this.name} answered the call of ${toolName} with an error: ${this.describe(error)}`,
      );
    }
    return toolResultOf(result, `${this.name}_${toolName}`);
  }

  /** Connects now, or joins the attempt under way. Never rejects. */
  private connect(): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    this.connecting ??= this.connectOnce().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connectOnce(): Promise<void> {
    const transport = this.createTransport();
    const client = new Client(CLIENT_INFO, { capabilities: {} });
    const connection: Connection = { client, transport };
    client.onclose = () => this.lost(connection, new Error('the connection closed'));
    client.onerror = (error) => this.transportError(connection, error);
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      if (this.connection === connection) void this.listTools(connection);
    });
    try {
      await client.connect(transport, { timeout: this.config.timeout });
      const tools = await this.readTools(client);
      if (this.isClosed) {
        await closeQuietly(client);
        return;
      }
      this.connection = connection;
      this.failures = 0;
      this.error = undefined;
      this.options.logger.info(`MCP server ${this.name} connected`, {
        server: this.name,
        tools: tools.length,
      });
      this.useTools(tools);
    } catch (error) {
      // Not awaited: stopping a process that does not answer takes the SDK up to 4 s, and the first
      // attempt's outcome (which sessions wait for) is known now.
      void closeQuietly(client);
      if (this.isClosed) return;
      this.failed(error, 'could not be connected');
    }
  }

  private createTransport(): Transport {
    const { config } = this;
    if (config.transport === 'http') {
      return new StreamableHTTPClientTransport(config.url, {
        requestInit: { headers: { ...config.headers } },
      });
    }
    const transport = new StdioClientTransport({
      command: config.command,
      args: [...config.args],
      env: { ...config.env },
      ...(config.cwd === undefined ? {} : { cwd: config.cwd }),
      stderr: 'pipe',
    });
    // What the process writes to stderr is its log: kept at debug level (and read, so it never blocks).
    transport.stderr?.on('data', (chunk: Buffer) => {
      const text = redactSecrets(chunk.toString('utf8').trimEnd(), config.secrets);
      if (text !== '') this.options.logger.debug(`MCP server ${this.name}: ${text}`, { server: this.name });
    });
    return transport;
  }

  /** Every tool of the server, following `nextCursor` pages. */
  private async readTools(client: Client): Promise<Tool[]> {
    const tools: Tool[] = [];
    const seen = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor === undefined ? undefined : { cursor }, {
        timeout: this.config.timeout,
      });
      tools.push(...page.tools);
      cursor = page.nextCursor;
      if (cursor !== undefined && seen.has(cursor)) break;
      if (cursor !== undefined) seen.add(cursor);
    } while (cursor !== undefined && tools.length < MAX_TOOLS);
    return tools.slice(0, MAX_TOOLS);
  }

  /** Reads the tools again (on `list_changed` or `refresh`); a read asked for during one follows it. */
  private listTools(connection: Connection): Promise<void> {
    if (this.listing !== undefined) {
      this.listAgain = true;
      return this.listing;
    }
    const run = async (): Promise<void> => {
      do {
        this.listAgain = false;
        try {
          const tools = await this.readTools(connection.client);
          if (this.connection !== connection) return;
          this.useTools(tools);
        } catch (error) {
          if (this.connection !== connection) return;
          if (isConnectionFailure(error)) {
            this.lost(connection, error);
            return;
          }
          this.options.logger.warn(`MCP server ${this.name}: its tools could not be read again`, {
            server: this.name,
            error: this.describe(error),
          });
        }
      } while (this.listAgain);
    };
    this.listing = run().finally(() => {
      this.listing = undefined;
    });
    return this.listing;
  }

  /** Names the tools, and reports a change when they differ from the last listing. */
  private useTools(tools: readonly Tool[]): void {
    this.lastUpdated = new Date().toISOString();
    const sorted = [...tools].sort((left, right) =>
      left.name < right.name ? -1 : left.name > right.name ? 1 : 0,
    );
    const taken = new Set<string>();
    const listed: SourceTool[] = [];
    for (const tool of sorted) {
      const base = fitToolName(`${this.name}_${sanitizeNamePart(tool.name) || 'tool'}`);
      let name = base;
      for (let suffix = 2; taken.has(name); suffix++) name = fitToolName(`${base}_${suffix}`);
      taken.add(name);
      listed.push(this.toolOf(name, tool));
    }
    const key = JSON.stringify(listed.map((tool) => [tool.action, tool.callHash]));
    if (key === this.listedKey) return;
    this.listed = listed;
    this.listedKey = key;
    this.options.onChange();
  }

  private toolOf(name: string, tool: Tool): SourceTool {
    const description = describeTool(tool);
    const inputSchema = withoutSchemaDialect(tool.inputSchema as Record<string, unknown>);
    const outputSchema =
      tool.outputSchema === undefined
        ? undefined
        : withoutSchemaDialect(tool.outputSchema as Record<string, unknown>);
    const toolName = tool.name;
    const requiresApproval = this.config.requiresApproval({
      name,
      tool: toolName,
      ...(tool.annotations === undefined ? {} : { annotations: { ...tool.annotations } }),
    });
    return {
      action: {
        name,
        ...(description === undefined ? {} : { description }),
        inputSchema,
        ...(outputSchema === undefined ? {} : { outputSchema }),
        service: this.name,
        ...(requiresApproval ? { requiresApproval: true } : {}),
      },
      description: description ?? `Tool ${toolName} of the MCP server ${this.name}`,
      callHash: toolName,
      handler: (args, context) => this.call(toolName, args, context),
    };
  }

  /** A transport error: the connection may be gone (an HTTP stream dropped), so it is checked. */
  private transportError(connection: Connection, error: Error): void {
    if (this.connection !== connection || this.isClosed) return;
    this.options.logger.debug(`MCP server ${this.name}: transport error`, {
      server: this.name,
      error: this.describe(error),
    });
    connection.probing ??= connection.client
      .ping({ timeout: this.config.timeout })
      .then(
        () => undefined,
        (failure: unknown) => this.lost(connection, failure),
      )
      .finally(() => {
        connection.probing = undefined;
      });
  }

  /** The connection is gone: its tools stay listed, calls fail fast, and reconnection starts. */
  private lost(connection: Connection, cause: unknown): void {
    if (this.connection !== connection || this.isClosed) return;
    this.connection = undefined;
    void closeQuietly(connection.client);
    this.failed(cause, 'was lost');
  }

  private failed(cause: unknown, what: string): void {
    this.failures++;
    this.error = {
      code: 'TOOL_SOURCE_UNAVAILABLE',
      message: `MCP server ${this.name} ${what}: ${this.describe(cause)}`,
    };
    const delay = computeBackoffDelay(this.failures, {
      initialDelay: FIRST_RETRY_DELAY,
      maxDelay: MAX_RETRY_DELAY,
      backoffMultiplier: 2,
      jitter: 0.2,
    });
    this.options.logger.warn(`MCP server ${this.name} ${what}; reconnecting`, {
      server: this.name,
      ...(this.config.displayUrl === '' ? {} : { url: this.config.displayUrl }),
      code: this.error.code,
      error: this.error.message,
      failures: this.failures,
      retryInMs: Math.round(delay),
      keptActions: this.listed.length,
    });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.connect();
    }, delay);
    this.timer.unref();
  }

  private unavailable(): EnclaveError {
    return new EnclaveError(
      'TOOL_SOURCE_UNAVAILABLE',
      this.error?.message ?? `MCP server ${this.name} is not connected`,
    );
  }

  /** An error's message without secrets. */
  private describe(error: unknown): string {
    const message = error instanceof Error ? error.message : String(error);
    const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return redactSecrets(`${message}${cause}`, this.config.secrets);
  }
}

/**
 * Whether a failed request means the connection is gone, rather than the server answering with an
 * error: the SDK's "connection closed", or anything the transport itself threw (a refused or reset
 * HTTP request, an HTTP error status, a session the server no longer knows).
 */
function isConnectionFailure(error: unknown): boolean {
  if (error instanceof McpError) return error.code === ErrorCode.ConnectionClosed;
  // An answer that does not match the protocol's schema came over a working connection.
  return !(
    typeof error === 'object' &&
    error !== null &&
    Array.isArray((error as { issues?: unknown }).issues)
  );
}

function describeTool(tool: Tool): string | undefined {
  const description = tool.description?.trim();
  if (description !== undefined && description !== '') return description;
  const title = (tool.title ?? tool.annotations?.title)?.trim();
  return title === undefined || title === '' ? undefined : title;
}

/**
 * The schema without `$schema`: servers name several dialects (draft-07 is common), which the
 * registry's draft 2020-12 validator would refuse to compile; the keywords tools use mean the same.
 */
function withoutSchemaDialect(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = schema;
  return rest;
}

async function closeQuietly(client: Client): Promise<void> {
  try {
    await client.close();
  } catch {
    // Closing a connection that is already broken may fail; it is closed either way.
  }
}
