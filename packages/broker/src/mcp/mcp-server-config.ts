/** What a `requiresApproval` function of an MCP server sees of one of its tools. */
export interface McpToolInfo {
  /** The tool's name in the registry and the catalog, e.g. `notes_delete_note`. */
  name: string;
  /** The tool's name on the server, e.g. `delete_note`. */
  tool: string;
  /**
   * The hints the server gives about the tool (`readOnlyHint`, `destructiveHint`,
   * `idempotentHint`, `openWorldHint`, `title`), as it lists them; servers are not bound by them.
   */
  annotations?: {
    title?: string;
    readOnlyHint?: boolean;
    destructiveHint?: boolean;
    idempotentHint?: boolean;
    openWorldHint?: boolean;
  };
}

/**
 * Which tools of an MCP server wait for a person's approval before each call is sent: `true` for
 * all, a list of patterns matched against the tool's name on the server (`delete_note`) or in the
 * registry (`notes_delete_note`), `*` standing for any run of characters, or a function.
 */
export type McpApprovalRequirement = boolean | readonly string[] | ((tool: McpToolInfo) => boolean);

/** What both kinds of MCP server configuration share. */
interface McpServerConfigBase {
  /**
   * Service name: 1 to 64 letters, digits, `_`, `.` or `-`, unique among `openApiSources` and
   * `mcpServers`. Every tool of the server is named `${name}_${tool}`.
   */
  name: string;
  /** Ms each connection attempt and each listing of the tools may take. @default 10000 */
  timeout?: number;
  /**
   * Which of the server's tools wait for a person's approval before each call is sent
   * (`approval_required`, then `POST /sessions/:id/approvals`; a denial throws `APPROVAL_DENIED` in
   * the code). For example `['delete_*', 'send_email']`, or every tool that does not say it only
   * reads: `(tool) => tool.annotations?.readOnlyHint !== true`. Listed as `requiresApproval: true`
   * in the catalog. @default false
   */
  requiresApproval?: McpApprovalRequirement;
}

/**
 * An MCP server the broker starts as a child process and talks to over stdio (the SDK's
 * `StdioClientTransport`). When the process exits, the broker starts it again with backoff.
 *
 * @example
 * { name: 'files', command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/srv/data'] }
 */
export interface McpStdioServerConfig extends McpServerConfigBase {
  /** The executable to start (looked up on `PATH`). */
  command: string;
  /** Its arguments. @default [] */
  args?: string[];
  /**
   * Environment variables of the process, on top of the few it inherits from the broker (`HOME`,
   * `LOGNAME`, `PATH`, `SHELL`, `TERM`, `USER`). Values are never in the catalog, events or logs.
   */
  env?: Record<string, string>;
  /** Working directory of the process. @default the broker's */
  cwd?: string;
}

/**
 * An MCP server reached over Streamable HTTP (the SDK's `StreamableHTTPClientTransport`).
 *
 * @example
 * { name: 'tickets', url: 'https://mcp.internal/mcp', headers: { authorization: `Bearer ${token}` } }
 */
export interface McpHttpServerConfig extends McpServerConfigBase {
  /** The server's MCP endpoint, http(s). */
  url: string;
  /** Sent with every request (e.g. `authorization`). Never in the catalog, events or logs. */
  headers?: Record<string, string>;
}

/**
 * One MCP server whose tools become tools of the broker (`${name}_${tool}`) and actions of the
 * catalog: started as a local process (`command`) or reached over Streamable HTTP (`url`).
 */
export type McpServerConfig = McpStdioServerConfig | McpHttpServerConfig;
