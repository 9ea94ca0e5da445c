import { isPlainObject } from './parameter-arguments.js';

/** The sentence a tool's JSDoc (and its text documentation) gives about its approval. */
export function describeApproval(approval: 'always' | 'sometimes'): string {
  return approval === 'always'
    ? "Waits for a person's approval before it runs; rejects with code APPROVAL_DENIED (or APPROVAL_TIMEOUT) when it is not given."
    : "May wait for a person's approval before it runs; rejects with code APPROVAL_DENIED (or APPROVAL_TIMEOUT) when it is not given.";
}

/** One argument of a tool, as the documentation shows it. */
export interface ArgumentDocumentation {
  name: string;
  /** JSON type(s), e.g. `string`, `number | null`, `any`. */
  type: string;
  required: boolean;
  /** Whether `defaultValue` holds a default (a default may itself be `null`). */
  hasDefault: boolean;
  defaultValue?: unknown;
  description?: string;
}

/** What the documentation says about one tool. */
export interface ToolDocumentation {
  name: string;
  description: string;
  /** The arguments, or `undefined` when the schema is not an object of named properties. */
  arguments: ArgumentDocumentation[] | undefined;
  /** The tool's JSON Schema, shown when `arguments` cannot describe it. */
  inputSchema: Record<string, unknown>;
  /** Whether the tool is deprecated. */
  deprecated?: boolean;
  /** Whether its calls wait for a person's approval: every call, or some (a predicate decides). */
  approval?: 'always' | 'sometimes';
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Whether a name can follow a dot in JavaScript (`tools.name`). */
export function isIdentifier(name: string): boolean {
  return IDENTIFIER.test(name);
}

/**
 * Reads the arguments of an object JSON Schema (as `z.toJSONSchema` writes it). Returns `undefined`
 * for any other schema, which the documentation then shows verbatim.
 */
export function argumentsFromJsonSchema(
  schema: Record<string, unknown>,
): ArgumentDocumentation[] | undefined {
  if (schema.type !== 'object' || !isPlainObject(schema.properties)) return undefined;
  const required = new Set(Array.isArray(schema.required) ? schema.required.map(String) : []);
  return Object.entries(schema.properties).map(([name, property]) => {
    const described = isPlainObject(property) ? property : {};
    return {
      name,
      type: jsonSchemaType(described),
      required: required.has(name) && !Object.hasOwn(described, 'default'),
      hasDefault: Object.hasOwn(described, 'default'),
      defaultValue: described.default,
      ...(typeof described.description === 'string' ? { description: described.description } : {}),
    };
  });
}

function jsonSchemaType(schema: Record<string, unknown>): string {
  if (typeof schema.type === 'string') {
    if (schema.type === 'array' && isPlainObject(schema.items)) return `${jsonSchemaType(schema.items)}[]`;
    return schema.type;
  }
  if (Array.isArray(schema.type)) return schema.type.map(String).join(' | ');
  if (Array.isArray(schema.enum)) return schema.enum.map((value) => JSON.stringify(value)).join(' | ');
  if (Object.hasOwn(schema, 'const')) return JSON.stringify(schema.const);
  const variants = Array.isArray(schema.anyOf)
    ? schema.anyOf
    : Array.isArray(schema.oneOf)
      ? schema.oneOf
      : undefined;
  if (variants !== undefined) {
    return variants.map((variant) => (isPlainObject(variant) ? jsonSchemaType(variant) : 'any')).join(' | ');
  }
  return 'any';
}

/** The call a guest writes, e.g. `await tools.getCurrentTime({ timezone })`. */
export function formatCallExample(tool: ToolDocumentation): string {
  const names = tool.arguments?.map((argument) => argument.name) ?? [];
  const argumentText =
    tool.arguments === undefined
      ? 'args'
      : names.length === 0
        ? ''
        : `{ ${names.map((name) => (isIdentifier(name) ? name : `${JSON.stringify(name)}: …`)).join(', ')} }`;
  if (isIdentifier(tool.name)) return `await tools.${tool.name}(${argumentText})`;
  const quoted = `'${tool.name.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  return `await callTool(${quoted}${argumentText === '' ? '' : `, ${argumentText}`})`;
}

function formatArgument(argument: ArgumentDocumentation): string {
  const facts = [argument.type, argument.required ? 'required' : 'optional'];
  if (argument.hasDefault) facts.push(`default: ${JSON.stringify(argument.defaultValue)}`);
  const description =
    argument.description === undefined || argument.description === '' ? '' : ` — ${argument.description}`;
  return `- ${argument.name} (${facts.join(', ')})${description}`;
}

/**
 * Text describing every tool for an LLM prompt: how to call tools from code, then each tool's
 * description, call example and arguments.
 */
export function formatToolDocumentation(tools: readonly ToolDocumentation[]): string {
  const lines = [
    '# Available tools',
    '',
    'Your code calls a tool with `await tools.<name>(args)`, or with `await callTool(name, args)` when the',
    'name is not a JavaScript identifier (for example `users:list`). `args` is one object of JSON values;',
    'the call returns a promise of the JSON result and throws when the tool fails or the arguments are invalid.',
  ];
  if (tools.length === 0) {
    lines.push('', 'No tools are available.');
    return lines.join('\n');
  }
  for (const tool of tools) {
    lines.push('', `## ${tool.name}`, '');
    if (tool.deprecated === true) lines.push('Deprecated: prefer another tool when one fits.', '');
    if (tool.description !== '') lines.push(tool.description, '');
    if (tool.approval !== undefined) lines.push(describeApproval(tool.approval), '');
    lines.push(`Call: \`${formatCallExample(tool)}\``, '');
    if (tool.arguments === undefined) {
      lines.push('Arguments (JSON Schema):', JSON.stringify(tool.inputSchema));
    } else if (tool.arguments.length === 0) {
      lines.push('Arguments: none');
    } else {
      lines.push('Arguments:', ...tool.arguments.map(formatArgument));
    }
  }
  return lines.join('\n');
}
