import type { z } from 'zod';

/** What a tool handler knows about the call it serves. */
export interface ExecutionContext {
  /** The session the code runs in. */
  sessionId: string;
  /** The id of this tool call, unique within the session. */
  callId: string;
  /** The tool name the code called. */
  toolName: string;
  /** The `context` of the execute request (read-only). */
  context: Readonly<Record<string, unknown>>;
  /** The authenticated caller, when authentication is configured. */
  user?: AuthenticatedUser;
  /** Fires when the session is cancelled, times out, or this call passes the tool timeout. */
  signal: AbortSignal;
}

/** Who started a session, as stamped by authentication. */
export interface AuthenticatedUser {
  userId?: string;
  tenantId?: string;
  permissions?: string[];
}

/** A tool implementation: gets validated arguments, returns a JSON-serialisable result. */
export type ToolHandler = (args: Record<string, unknown>, context?: ExecutionContext) => Promise<unknown>;

/** One parameter of a {@link ToolDefinition}. */
export interface ParameterDef {
  type: 'string' | 'number' | 'boolean' | 'object' | 'array';
  description: string;
  /** Whether the argument must be present. @default false */
  required?: boolean;
  /** Value used when the argument is absent. */
  default?: unknown;
}

/** A tool as `ToolRegistry.register` takes it (the seed's shape). */
export interface ToolDefinition {
  name: string;
  description: string;
  parameters: Record<string, ParameterDef>;
  handler: ToolHandler;
}

/** A tool as `broker.tool(name, …)` takes it: arguments described by a zod schema. */
export interface ZodToolConfig<Schema extends z.ZodType = z.ZodType> {
  description: string;
  argsSchema: Schema;
  handler: (args: z.output<Schema>, context: ExecutionContext) => unknown | Promise<unknown>;
}

/**
 * A tool as `ToolRegistry.registerJsonSchemaTool(name, …)` takes it: arguments described by a JSON
 * Schema (draft 2020-12) of an object.
 */
export interface JsonSchemaToolConfig {
  description: string;
  /** JSON Schema of the arguments object; plain JSON (it is served in the catalog and documentation). */
  inputSchema: Record<string, unknown>;
  /**
   * JSON Schema of what the handler returns: the result type in `getTypeDeclarations()` (without
   * it the result is `unknown`). Describes the result; the result is not checked against it.
   */
  outputSchema?: Record<string, unknown>;
  /** Marks the tool deprecated in the documentation and the type declarations. @default false */
  deprecated?: boolean;
  handler: (args: Record<string, unknown>, context: ExecutionContext) => unknown | Promise<unknown>;
}

/** Options of `ToolRegistry.getDocumentation`. */
export interface DocumentationOptions {
  /**
   * `text`: Markdown-like text describing each tool and its arguments. `typescript`: the same as
   * `getTypeDeclarations()`, TypeScript ambient declarations of `tools` and `callTool`.
   * @default 'text'
   */
  format?: 'text' | 'typescript';
}
