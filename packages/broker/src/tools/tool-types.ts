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

/**
 * Decides, per call, whether a tool call needs a person's approval before the tool runs. It gets the
 * checked arguments (those the handler would get) and the call's context. Only `false` lets the
 * call run without approval; any other value (`true`, but also a forgotten `return`) asks for it.
 * A predicate that throws or rejects fails the call with `TOOL_ERROR`, and the tool does not run.
 *
 * @example
 * // Transfers above 1,000 need someone to approve them.
 * requiresApproval: ({ amount }) => amount > 1000
 */
export type ApprovalPredicate<Args = Record<string, unknown>> = (
  args: Args,
  context: ExecutionContext,
) => boolean | Promise<boolean>;

/**
 * Whether calls of a tool wait for a person's approval (`approval_required`, then
 * `POST /sessions/:id/approvals`): `true` for every call, a {@link ApprovalPredicate} to decide per
 * call, `false` (the default) for none.
 */
export type ApprovalRequirement<Args = Record<string, unknown>> = boolean | ApprovalPredicate<Args>;

/** One parameter of a {@link ToolDefinition}. */
export interface ParameterDef {
  type: 'string' | 'number' | 'boolean' | 'object' | 'array';
  description: string;
  /** Whether the argument must be present. @default false */
  required?: boolean;
  /** Value used when the argument is absent. */
  default?: unknown;
}

/** A tool as `ToolRegistry.register` takes it (the shape the broker documentation shows). */
export interface ToolDefinition {
  name: string;
  description: string;
  parameters: Record<string, ParameterDef>;
  handler: ToolHandler;
  /**
   * Whether a call waits for a person's approval before `handler` runs; a denied call throws
   * `APPROVAL_DENIED` inside the code. @default false
   */
  requiresApproval?: ApprovalRequirement;
}

/** A tool as `broker.tool(name, …)` takes it: arguments described by a zod schema. */
export interface ZodToolConfig<Schema extends z.ZodType = z.ZodType> {
  description: string;
  argsSchema: Schema;
  handler: (args: z.output<Schema>, context: ExecutionContext) => unknown | Promise<unknown>;
  /**
   * Whether a call waits for a person's approval before `handler` runs (a predicate gets the parsed
   * arguments); a denied call throws `APPROVAL_DENIED` inside the code. @default false
   */
  requiresApproval?: ApprovalRequirement<z.output<Schema>>;
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
  /**
   * Whether a call waits for a person's approval before `handler` runs; a denied call throws
   * `APPROVAL_DENIED` inside the code. @default false
   */
  requiresApproval?: ApprovalRequirement;
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
