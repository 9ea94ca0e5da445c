import { EnclaveError, formatIssues, ToolNameSchema } from '@enclave-vm/types';
import { z } from 'zod';
import { createJsonSchemaCheck } from './json-schema-check.js';
import {
  type ArgumentsCheck,
  checkParameterArguments,
  isPlainObject,
  matchesParameterType,
  PARAMETER_TYPES,
} from './parameter-arguments.js';
import {
  type ArgumentDocumentation,
  argumentsFromJsonSchema,
  formatToolDocumentation,
  type ToolDocumentation,
} from './tool-documentation.js';
import type {
  ApprovalRequirement,
  DocumentationOptions,
  ExecutionContext,
  JsonSchemaToolConfig,
  ParameterDef,
  ToolDefinition,
  ZodToolConfig,
} from './tool-types.js';
import { formatTypeDeclarations, type ToolDeclarationSource } from './type-declarations.js';

interface RegistryEntry {
  readonly definition: ToolDefinition;
  readonly inputSchema: Record<string, unknown>;
  readonly documentation: ToolDocumentation;
  readonly declaration: ToolDeclarationSource;
  readonly check: (args: unknown) => ArgumentsCheck;
  readonly run: (args: Record<string, unknown>, context: ExecutionContext) => Promise<unknown>;
  /** Frees what the entry holds beyond the registry (a compiled validator). */
  readonly release?: () => void;
}

/**
 * The tools that run on the broker. Each tool has a name (any string up to 256 characters, e.g.
 * `getCurrentTime` or `users:list`), a description, an argument schema and a handler. Arguments are
 * checked against the schema before the handler runs.
 *
 * @example
 * const tools = new ToolRegistry();
 * tools.register({
 *   name: 'users:list',
 *   description: 'List all users',
 *   parameters: { limit: { type: 'number', description: 'Max users to return', default: 10 } },
 *   handler: async (args) => db.users.findAll({ limit: args.limit }),
 * });
 */
export class ToolRegistry {
  private readonly entries = new Map<string, RegistryEntry>();
  /** `getTypeDeclarations()` of the current tools, until a tool is added or removed. */
  private declarations: string | undefined;

  /** Number of registered tools. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Registers a tool described by `ParameterDef`s. Throws `CONFIGURATION_ERROR` when the name is
   * taken or the definition is invalid (empty name, missing description or handler, unknown parameter
   * type, a default of the wrong type, a parameter both required and defaulted).
   */
  register(tool: ToolDefinition): void {
    if (!isPlainObject(tool)) throw configurationError('A tool definition must be an object');
    const name = checkName(tool.name);
    this.assertFree(name);
    const description = checkDescription(name, tool.description);
    if (typeof tool.handler !== 'function')
      throw configurationError(`Tool ${name}: handler must be a function`);
    const parameters = checkParameters(name, tool.parameters);
    const requiresApproval = checkApprovalRequirement(name, tool.requiresApproval);
    const handler = tool.handler;
    const definition: ToolDefinition = {
      name,
      description,
      parameters,
      handler,
      ...(requiresApproval === undefined ? {} : { requiresApproval }),
    };
    const inputSchema = parametersToJsonSchema(parameters);
    const approval = approvalOf(requiresApproval);
    this.add(name, {
      definition,
      inputSchema,
      declaration: { name, description, inputSchema, ...approval },
      documentation: {
        name,
        description,
        inputSchema,
        ...approval,
        arguments: Object.entries(parameters).map(([argumentName, parameter]) => ({
          name: argumentName,
          type: parameter.type,
          required: parameter.required === true,
          hasDefault: parameter.default !== undefined,
          defaultValue: parameter.default,
          description: parameter.description,
        })),
      },
      check: (args) => checkParameterArguments(parameters, args),
      run: (args, context) => handler(args, context),
    });
  }

  /**
   * Registers a tool whose arguments are described by a zod schema (what `broker.tool(name, config)`
   * calls). Arguments are parsed with the schema (so its defaults and transforms apply) before the
   * handler runs. Throws `CONFIGURATION_ERROR` when the name is taken or the config is invalid.
   */
  registerZodTool<Schema extends z.ZodType>(name: string, config: ZodToolConfig<Schema>): void {
    const toolName = checkName(name);
    this.assertFree(toolName);
    if (!isPlainObject(config)) throw configurationError(`Tool ${toolName}: the config must be an object`);
    const description = checkDescription(toolName, config.description);
    const schema = config.argsSchema;
    if (!isZodSchema(schema)) {
      throw configurationError(`Tool ${toolName}: argsSchema must be a zod schema`);
    }
    if (typeof config.handler !== 'function') {
      throw configurationError(`Tool ${toolName}: handler must be a function`);
    }
    const requiresApproval = checkApprovalRequirement(
      toolName,
      config.requiresApproval as ApprovalRequirement | undefined,
    );
    const handler = config.handler;
    let inputSchema: Record<string, unknown>;
    try {
      inputSchema = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<
        string,
        unknown
      >;
    } catch (error) {
      throw configurationError(
        `Tool ${toolName}: argsSchema cannot be described as JSON Schema: ${String(error)}`,
        error,
      );
    }
    const check = (args: unknown): ArgumentsCheck => {
      const parsed = schema.safeParse(args === undefined ? {} : args);
      if (parsed.success) {
        return { success: true, args: parsed.data as Record<string, unknown> };
      }
      return {
        success: false,
        message: formatIssues(parsed.error.issues),
        details: {
          issues: parsed.error.issues.map((issue) => ({
            path: issue.path.join('.'),
            message: issue.message,
          })),
        },
      };
    };
    const run = async (args: Record<string, unknown>, context: ExecutionContext): Promise<unknown> =>
      handler(args as z.output<Schema>, context);
    const documentedArguments = argumentsFromJsonSchema(inputSchema);
    const definition: ToolDefinition = {
      name: toolName,
      description,
      parameters: argumentsToParameters(documentedArguments ?? []),
      // Called directly, the handler still gets checked arguments and a context.
      handler: async (args, context) => {
        const checked = check(args);
        if (!checked.success) throw validationError(toolName, checked);
        return run(checked.args, context ?? detachedContext(toolName));
      },
      ...(requiresApproval === undefined ? {} : { requiresApproval }),
    };
    const approval = approvalOf(requiresApproval);
    this.add(toolName, {
      definition,
      inputSchema,
      declaration: { name: toolName, description, inputSchema, ...approval },
      documentation: {
        name: toolName,
        description,
        inputSchema,
        arguments: documentedArguments,
        ...approval,
      },
      check,
      run,
    });
  }

  /**
   * Registers a tool whose arguments are described by a JSON Schema (draft 2020-12; the OpenAPI
   * catalog registers its operations this way). Arguments are checked with Ajv before the handler
   * runs and are passed unchanged (no defaults injected, no coercion). Throws `CONFIGURATION_ERROR`
   * when the name is taken or the config is invalid.
   *
   * @example
   * tools.registerJsonSchemaTool('weather_forecast', {
   *   description: 'Forecast for a city',
   *   inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
   *   handler: async ({ city }) => forecast(String(city)),
   * });
   */
  registerJsonSchemaTool(name: string, config: JsonSchemaToolConfig): void {
    const toolName = checkName(name);
    this.assertFree(toolName);
    if (!isPlainObject(config)) throw configurationError(`Tool ${toolName}: the config must be an object`);
    const description = checkDescription(toolName, config.description);
    if (!isPlainObject(config.inputSchema)) {
      throw configurationError(`Tool ${toolName}: inputSchema must be a JSON Schema object`);
    }
    if (typeof config.handler !== 'function') {
      throw configurationError(`Tool ${toolName}: handler must be a function`);
    }
    if (config.outputSchema !== undefined && !isPlainObject(config.outputSchema)) {
      throw configurationError(`Tool ${toolName}: outputSchema must be a JSON Schema object`);
    }
    if (config.deprecated !== undefined && typeof config.deprecated !== 'boolean') {
      throw configurationError(`Tool ${toolName}: deprecated must be a boolean`);
    }
    const requiresApproval = checkApprovalRequirement(toolName, config.requiresApproval);
    const handler = config.handler;
    const inputSchema = config.inputSchema;
    const outputSchema = config.outputSchema;
    const deprecated = config.deprecated === true;
    const validator = createJsonSchemaCheck(inputSchema);
    const run = async (args: Record<string, unknown>, context: ExecutionContext): Promise<unknown> =>
      handler(args, context);
    const documentedArguments = argumentsFromJsonSchema(inputSchema);
    this.add(toolName, {
      definition: {
        name: toolName,
        description,
        parameters: argumentsToParameters(documentedArguments ?? []),
        // Called directly, the handler still gets checked arguments and a context.
        handler: async (args, context) => {
          const checked = validator.check(args);
          if (!checked.success) throw validationError(toolName, checked);
          return run(checked.args, context ?? detachedContext(toolName));
        },
        ...(requiresApproval === undefined ? {} : { requiresApproval }),
      },
      inputSchema,
      declaration: {
        name: toolName,
        description,
        inputSchema,
        ...(outputSchema === undefined ? {} : { outputSchema }),
        ...(deprecated ? { deprecated } : {}),
        ...approvalOf(requiresApproval),
      },
      documentation: {
        name: toolName,
        description,
        inputSchema,
        arguments: documentedArguments,
        ...(deprecated ? { deprecated } : {}),
        ...approvalOf(requiresApproval),
      },
      check: validator.check,
      run,
      release: validator.release,
    });
  }

  /** Removes a tool; returns whether it was registered. */
  unregister(name: string): boolean {
    const entry = this.entries.get(name);
    if (entry === undefined) return false;
    this.entries.delete(name);
    this.declarations = undefined;
    entry.release?.();
    return true;
  }

  /** The tool with this name, or `undefined`. */
  get(name: string): ToolDefinition | undefined {
    return this.entries.get(name)?.definition;
  }

  /** Whether a tool with this name is registered. */
  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** Every registered tool, in registration order. */
  list(): ToolDefinition[] {
    return [...this.entries.values()].map((entry) => entry.definition);
  }

  /**
   * The JSON Schema of a tool's arguments (exact for zod tools, built from the `ParameterDef`s
   * otherwise), or `undefined` for an unknown tool.
   */
  getInputSchema(name: string): Record<string, unknown> | undefined {
    return this.entries.get(name)?.inputSchema;
  }

  /**
   * Text for an LLM prompt. By default (`format: 'text'`): how code calls tools, then every tool with
   * its description, a call example (`await tools.getCurrentTime({ timezone })`, or
   * `await callTool('users:list', { limit })` for names that are not identifiers) and each argument's
   * type, whether it is required, its default and its description. With `format: 'typescript'`: the
   * tools as TypeScript declarations, the same as {@link getTypeDeclarations}.
   *
   * @example
   * const prompt = `Write JavaScript that uses these tools:\n\n${registry.getDocumentation({ format: 'typescript' })}`;
   */
  getDocumentation(options: DocumentationOptions = {}): string {
    const format = options.format ?? 'text';
    if (format === 'typescript') return this.getTypeDeclarations();
    if (format !== 'text') {
      throw configurationError(`format must be 'text' or 'typescript', got ${JSON.stringify(format)}`);
    }
    return formatToolDocumentation([...this.entries.values()].map((entry) => entry.documentation));
  }

  /**
   * TypeScript ambient declarations of every tool, for a model to write code against (and for a type
   * checker to check that code). A script, not a module: it declares the globals the sandbox gives
   * code, `declare const tools: { … }` with one method per tool (sorted by name, so that equal sets
   * of tools give equal text; quoted when the name is not an identifier, e.g. `"users:list"(…)`), `declare function callTool(name, args)` typed from it, and
   * `declare const context`. Argument types come from each tool's schema (zod, `ParameterDef`s or
   * JSON Schema: optional arguments, defaults, enums, nested objects, arrays, nullable values,
   * unions), result types from its output schema when it has one (catalog actions of OpenAPI
   * operations and MCP tools) and `unknown` otherwise, and JSDoc from the descriptions. The text
   * compiles with `tsc --noEmit --strict`; it is kept until a tool is added or removed.
   *
   * @example
   * const declarations = registry.getTypeDeclarations();
   * // declare const tools: {
   * //   /** Get the current time *\/
   * //   getCurrentTime(args?: { timezone?: string; }): Promise<unknown>;
   * // };
   */
  getTypeDeclarations(): string {
    this.declarations ??= formatTypeDeclarations(
      [...this.entries.values()].map((entry) => entry.declaration),
    );
    return this.declarations;
  }

  /**
   * Checks arguments against a tool's schema without running it. Returns the arguments the handler
   * would get (defaults applied), or a readable message. Throws `TOOL_NOT_FOUND` for an unknown tool.
   */
  validateArguments(name: string, args: unknown): ArgumentsCheck {
    return this.entry(name).check(args);
  }

  /**
   * Whether this call of tool `name` must wait for a person's approval before it runs: checks the
   * arguments first (rejecting with `TOOL_VALIDATION_ERROR`, as `call` would), then asks the tool's
   * `requiresApproval` (`true`, or a predicate given the checked arguments and `context`; only a
   * predicate answering `false` skips the approval). Resolves `false` for a tool without one.
   * Rejects with `TOOL_NOT_FOUND`, or `TOOL_ERROR` when the predicate throws. The broker calls it
   * before every call of a tool that has a `requiresApproval`.
   */
  async requiresApproval(name: string, args: unknown, context: ExecutionContext): Promise<boolean> {
    const entry = this.entry(name);
    const requirement = entry.definition.requiresApproval;
    const checked = entry.check(args);
    if (!checked.success) throw validationError(name, checked);
    if (requirement === undefined || typeof requirement === 'boolean') return requirement === true;
    let answer: unknown;
    try {
      answer = await requirement(checked.args, context);
    } catch (error) {
      if (EnclaveError.isInstance(error)) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new EnclaveError('TOOL_ERROR', `requiresApproval of tool ${name} failed: ${message}`, {
        cause: error,
      });
    }
    return answer !== false;
  }

  /**
   * Runs a tool: checks the arguments, then calls the handler. Rejects with `TOOL_NOT_FOUND`,
   * `TOOL_VALIDATION_ERROR` (the handler is not called), the handler's own `EnclaveError`, or
   * `TOOL_ERROR` wrapping anything else the handler throws.
   */
  async call(name: string, args: unknown, context: ExecutionContext): Promise<unknown> {
    const entry = this.entry(name);
    const checked = entry.check(args);
    if (!checked.success) throw validationError(name, checked);
    try {
      return await entry.run(checked.args, context);
    } catch (error) {
      if (EnclaveError.isInstance(error)) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new EnclaveError('TOOL_ERROR', `Tool ${name} failed: ${message}`, { cause: error });
    }
  }

  private add(name: string, entry: RegistryEntry): void {
    this.entries.set(name, entry);
    this.declarations = undefined;
  }

  private entry(name: string): RegistryEntry {
    const entry = this.entries.get(name);
    if (entry === undefined)
      throw new EnclaveError('TOOL_NOT_FOUND', `No tool named ${JSON.stringify(name)}`);
    return entry;
  }

  private assertFree(name: string): void {
    if (this.entries.has(name)) {
      throw configurationError(`A tool named ${JSON.stringify(name)} is already registered`);
    }
  }
}

function configurationError(message: string, cause?: unknown): EnclaveError {
  return new EnclaveError('CONFIGURATION_ERROR', message, { cause });
}

function validationError(name: string, checked: Extract<ArgumentsCheck, { success: false }>): EnclaveError {
  return new EnclaveError('TOOL_VALIDATION_ERROR', `Invalid arguments for tool ${name}: ${checked.message}`, {
    details: checked.details,
  });
}

function checkName(name: unknown): string {
  const parsed = ToolNameSchema.safeParse(name);
  if (!parsed.success) {
    throw configurationError(
      `A tool name must be a string of 1 to 256 characters, got ${JSON.stringify(name)}`,
    );
  }
  return parsed.data;
}

function checkDescription(name: string, description: unknown): string {
  if (typeof description !== 'string') throw configurationError(`Tool ${name}: description must be a string`);
  return description;
}

function checkApprovalRequirement(
  name: string,
  requirement: ApprovalRequirement | undefined,
): ApprovalRequirement | undefined {
  if (requirement === undefined || typeof requirement === 'boolean' || typeof requirement === 'function') {
    return requirement;
  }
  throw configurationError(
    `Tool ${name}: requiresApproval must be a boolean or a function (args, context) => boolean`,
  );
}

/** How the declarations and documentation describe a tool's approval. */
function approvalOf(requirement: ApprovalRequirement | undefined): { approval?: 'always' | 'sometimes' } {
  if (requirement === undefined || requirement === false) return {};
  return { approval: requirement === true ? 'always' : 'sometimes' };
}

function checkParameters(name: string, parameters: unknown): Record<string, ParameterDef> {
  if (parameters === undefined) return {};
  if (!isPlainObject(parameters)) throw configurationError(`Tool ${name}: parameters must be an object`);
  const checked: Record<string, ParameterDef> = {};
  for (const [parameterName, parameter] of Object.entries(parameters)) {
    const where = `Tool ${name}, parameter ${parameterName}`;
    if (!isPlainObject(parameter)) throw configurationError(`${where}: must be an object`);
    const type = parameter.type;
    if (typeof type !== 'string' || !PARAMETER_TYPES.includes(type as ParameterDef['type'])) {
      throw configurationError(
        `${where}: type must be one of ${PARAMETER_TYPES.join(', ')}, got ${JSON.stringify(type)}`,
      );
    }
    const parameterType = type as ParameterDef['type'];
    if (typeof parameter.description !== 'string')
      throw configurationError(`${where}: description must be a string`);
    if (parameter.required !== undefined && typeof parameter.required !== 'boolean') {
      throw configurationError(`${where}: required must be a boolean`);
    }
    if (parameter.default !== undefined) {
      if (!matchesParameterType(parameterType, parameter.default)) {
        throw configurationError(`${where}: default must be of type ${parameterType}`);
      }
      if (parameter.required === true) {
        throw configurationError(`${where}: a parameter with a default cannot be required`);
      }
    }
    checked[parameterName] = {
      type: parameterType,
      description: parameter.description,
      ...(parameter.required === undefined ? {} : { required: parameter.required }),
      ...(parameter.default === undefined ? {} : { default: parameter.default }),
    };
  }
  return checked;
}

function parametersToJsonSchema(parameters: Record<string, ParameterDef>): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const [name, parameter] of Object.entries(parameters)) {
    properties[name] = {
      type: parameter.type,
      description: parameter.description,
      ...(parameter.default === undefined ? {} : { default: parameter.default }),
    };
    if (parameter.required === true) required.push(name);
  }
  return {
    type: 'object',
    properties,
    ...(required.length > 0 ? { required } : {}),
    additionalProperties: false,
  };
}

function argumentsToParameters(documented: ArgumentDocumentation[]): Record<string, ParameterDef> {
  const parameters: Record<string, ParameterDef> = {};
  for (const argument of documented) {
    const type =
      argument.type === 'integer' ? 'number' : argument.type.endsWith('[]') ? 'array' : argument.type;
    parameters[argument.name] = {
      type: PARAMETER_TYPES.includes(type as ParameterDef['type'])
        ? (type as ParameterDef['type'])
        : 'object',
      description: argument.description ?? '',
      ...(argument.required ? { required: true } : {}),
      ...(argument.hasDefault ? { default: argument.defaultValue } : {}),
    };
  }
  return parameters;
}

/** Duck-typed, so that a schema from another copy of zod 4 is accepted too. */
function isZodSchema(value: unknown): value is z.ZodType {
  return (
    typeof value === 'object' &&
    value !== null &&
    '_zod' in value &&
    typeof (value as { safeParse?: unknown }).safeParse === 'function'
  );
}

function detachedContext(toolName: string): ExecutionContext {
  return { sessionId: '', callId: '', toolName, context: {}, signal: new AbortController().signal };
}
