import { isPlainObject } from './parameter-arguments.js';
import { describeApproval, isIdentifier } from './tool-documentation.js';

/** What the declarations need of one tool. */
export interface ToolDeclarationSource {
  name: string;
  description: string;
  /** JSON Schema of the arguments object. */
  inputSchema: Record<string, unknown>;
  /** JSON Schema of the result, when the tool's source describes it; `unknown` otherwise. */
  outputSchema?: Record<string, unknown>;
  /** Marks the tool `@deprecated`. */
  deprecated?: boolean;
  /** Whether its calls wait for a person's approval: every call, or some (a predicate decides). */
  approval?: 'always' | 'sometimes';
}

/** Nesting written at most; deeper schemas become `unknown`. */
const MAX_DEPTH = 32;
/** Schema nodes written at most per tool; past it, what is left becomes `unknown`. */
const MAX_NODES = 20_000;
const INDENT = '  ';

const HEADER = [
  '// The tools your code can call. Your code is the body of an async function:',
  '// `await` works at the top level and `return` gives the result. Every call',
  '// returns a promise that rejects (with `error.code` and `error.message`) when',
  '// the tool fails or the arguments are invalid.',
  '',
  '/** Read-only JSON data passed with the execute request. */',
  'declare const context: Readonly<Record<string, unknown>>;',
  '',
];

const CALL_TOOL = [
  '',
  '/**',
  ' * Calls a tool by its name: `await callTool("users:list", { limit: 5 })` is',
  ' * `await tools["users:list"]({ limit: 5 })`.',
  ' */',
  'declare function callTool<Name extends keyof typeof tools>(',
  `${INDENT}name: Name,`,
  `${INDENT}...args: Parameters<(typeof tools)[Name]>`,
  '): ReturnType<(typeof tools)[Name]>;',
  '',
];

/**
 * TypeScript ambient declarations of the tools as sandboxed code sees them: a script (not a module)
 * that declares `context`, `tools` (one method per tool, by name, quoted when the name is not an
 * identifier) and `callTool`. Argument types come from each tool's JSON Schema (optional properties, defaults,
 * enums, nested objects, arrays, tuples, nullable values, unions), result types from its output
 * schema when it has one (else `unknown`), and JSDoc from the descriptions. The text compiles with
 * `tsc --strict`.
 */
export function formatTypeDeclarations(tools: readonly ToolDeclarationSource[]): string {
  const lines = [...HEADER];
  if (tools.length === 0) {
    lines.push('/** No tools are available. */', 'declare const tools: {};');
  } else {
    lines.push('declare const tools: {');
    // By name, not by registration: tools of sources that connect in any order give the same text.
    const sorted = [...tools].sort((left, right) =>
      left.name < right.name ? -1 : left.name > right.name ? 1 : 0,
    );
    for (const tool of sorted) lines.push(...declareTool(tool));
    lines.push('};');
  }
  lines.push(...CALL_TOOL);
  return lines.join('\n');
}

function declareTool(tool: ToolDeclarationSource): string[] {
  const input = new SchemaWriter(tool.inputSchema, 'input');
  const argumentsType = input.write(tool.inputSchema, 1, 0);
  const optional = argumentsType.text === 'unknown' || input.argumentsAreOptional(tool.inputSchema);
  const output = tool.outputSchema === undefined ? undefined : new SchemaWriter(tool.outputSchema, 'output');
  const resultType = output === undefined ? 'unknown' : output.write(tool.outputSchema, 1, 0).text;
  const documentation: string[] = [];
  if (tool.description.trim() !== '') documentation.push(tool.description.trim());
  const argumentsDescription = describe(tool.inputSchema);
  if (argumentsDescription !== undefined) documentation.push(`@param args ${argumentsDescription}`);
  const resultDescription = tool.outputSchema === undefined ? undefined : describe(tool.outputSchema);
  if (resultDescription !== undefined) documentation.push(`@returns ${resultDescription}`);
  if (tool.approval !== undefined) documentation.push(describeApproval(tool.approval));
  if (tool.deprecated === true) documentation.push('@deprecated');
  return [
    ...formatComment(documentation, INDENT),
    `${INDENT}${propertyKey(tool.name)}(args${optional ? '?' : ''}: ${argumentsType.text}): Promise<${resultType}>;`,
  ];
}

/** A TypeScript type and whether it must be parenthesised before `[]`. */
interface WrittenType {
  text: string;
  /** A union or intersection at its top level. */
  compound: boolean;
}

const UNKNOWN: WrittenType = { text: 'unknown', compound: false };

/** Writes the TypeScript type of one tool's schema, resolving its local `$ref`s. */
class SchemaWriter {
  private nodes = 0;
  private readonly expanding: string[] = [];

  constructor(
    private readonly root: Record<string, unknown>,
    /** `input`: a property with a default may be left out. `output`: only `required` counts. */
    private readonly direction: 'input' | 'output',
  ) {}

  /** Whether code may call the tool without arguments: the schema is an object nothing requires. */
  argumentsAreOptional(schema: Record<string, unknown>): boolean {
    const resolved = this.resolve(schema);
    if (resolved === undefined || !isObjectSchema(resolved)) return false;
    return this.requiredNames(resolved).length === 0;
  }

  write(schema: unknown, level: number, depth: number): WrittenType {
    if (schema === true || schema === undefined) return UNKNOWN;
    if (schema === false) return { text: 'never', compound: false };
    if (!isPlainObject(schema)) return UNKNOWN;
    if (++this.nodes > MAX_NODES || depth > MAX_DEPTH) return UNKNOWN;
    if (typeof schema.$ref === 'string') return this.reference(schema, level, depth);
    const written = this.writeUnlessNullable(schema, level, depth);
    if (schema.nullable === true) return union([written, { text: 'null', compound: false }]);
    return written;
  }

  private writeUnlessNullable(schema: Record<string, unknown>, level: number, depth: number): WrittenType {
    if (Object.hasOwn(schema, 'const')) return literal(schema.const);
    if (Array.isArray(schema.enum)) return union(schema.enum.map(literal));
    const variants = Array.isArray(schema.anyOf)
      ? schema.anyOf
      : Array.isArray(schema.oneOf)
        ? schema.oneOf
        : undefined;
    if (variants !== undefined) {
      const base = withoutKeywords(schema, ['anyOf', 'oneOf']);
      const written = union(variants.map((variant) => this.write(variant, level, depth + 1)));
      return hasTypeKeywords(base) ? intersection([this.write(base, level, depth + 1), written]) : written;
    }
    if (Array.isArray(schema.allOf)) {
      const base = withoutKeywords(schema, ['allOf']);
      const parts = schema.allOf.map((part) => this.write(part, level, depth + 1));
      if (hasTypeKeywords(base)) parts.unshift(this.write(base, level, depth + 1));
      return intersection(parts);
    }
    const types = typesOf(schema);
    if (types === undefined) return UNKNOWN;
    return union(types.map((type) => this.writeType(type, schema, level, depth)));
  }

  private writeType(
    type: string,
    schema: Record<string, unknown>,
    level: number,
    depth: number,
  ): WrittenType {
    switch (type) {
      case 'string':
        return { text: 'string', compound: false };
      case 'number':
      case 'integer':
        return { text: 'number', compound: false };
      case 'boolean':
        return { text: 'boolean', compound: false };
      case 'null':
        return { text: 'null', compound: false };
      case 'array':
        return this.writeArray(schema, level, depth);
      case 'object':
        return this.writeObject(schema, level, depth);
      default:
        return UNKNOWN;
    }
  }

  private writeArray(schema: Record<string, unknown>, level: number, depth: number): WrittenType {
    const items = schema.items;
    if (Array.isArray(schema.prefixItems)) {
      const minimum = typeof schema.minItems === 'number' ? schema.minItems : 0;
      const elements = schema.prefixItems.map((item, index) => {
        const written = this.write(item, level, depth + 1);
        return index < minimum ? written.text : `${parenthesise(written)}?`;
      });
      if (items !== false) {
        elements.push(`...${parenthesise(this.write(items ?? true, level, depth + 1))}[]`);
      }
      return { text: `[${elements.join(', ')}]`, compound: false };
    }
    if (Array.isArray(items)) {
      // Draft 4–2019 tuples: `items` as a list.
      return this.writeArray({ ...schema, prefixItems: items, items: schema.additionalItems }, level, depth);
    }
    return { text: `${parenthesise(this.write(items ?? true, level, depth + 1))}[]`, compound: false };
  }

  private writeObject(schema: Record<string, unknown>, level: number, depth: number): WrittenType {
    const properties = isPlainObject(schema.properties) ? schema.properties : {};
    const names = Object.keys(properties);
    const additional = schema.additionalProperties;
    const indexType =
      isPlainObject(additional) && names.length === 0
        ? this.write(additional, level + 1, depth + 1).text
        : 'unknown';
    const open =
      additional !== false &&
      (names.length === 0 || additional === true || isPlainObject(additional) || hasPatterns(schema));
    if (names.length === 0) {
      return { text: open ? `Record<string, ${indexType}>` : 'Record<string, never>', compound: false };
    }
    const required = new Set(this.requiredNames(schema));
    const inner = INDENT.repeat(level + 1);
    const lines = ['{'];
    for (const name of names) {
      const property = properties[name];
      lines.push(...formatComment(propertyDocumentation(property, this.direction), inner));
      const type = this.write(property, level + 1, depth + 1).text;
      lines.push(`${inner}${propertyKey(name)}${required.has(name) ? '' : '?'}: ${type};`);
    }
    if (open) lines.push(`${inner}[key: string]: unknown;`);
    lines.push(`${INDENT.repeat(level)}}`);
    return { text: lines.join('\n'), compound: false };
  }

  /** Required property names; for arguments, one with a default may be left out. */
  private requiredNames(schema: Record<string, unknown>): string[] {
    if (!Array.isArray(schema.required)) return [];
    const properties = isPlainObject(schema.properties) ? schema.properties : {};
    return schema.required
      .map(String)
      .filter(
        (name) =>
          this.direction === 'output' ||
          !(isPlainObject(properties[name]) && Object.hasOwn(properties[name], 'default')),
      );
  }

  private reference(schema: Record<string, unknown>, level: number, depth: number): WrittenType {
    const reference = schema.$ref as string;
    if (this.expanding.includes(reference)) return UNKNOWN;
    const target = this.resolve(schema);
    if (target === undefined) return UNKNOWN;
    this.expanding.push(reference);
    try {
      const siblings = withoutKeywords(schema, ['$ref']);
      const written = this.write(target, level, depth + 1);
      return hasTypeKeywords(siblings)
        ? intersection([written, this.write(siblings, level, depth + 1)])
        : written;
    } finally {
      this.expanding.pop();
    }
  }

  /** The schema a local `$ref` (`#`, `#/$defs/…`, `#/definitions/…`) points at, or the schema itself. */
  private resolve(schema: Record<string, unknown>): Record<string, unknown> | undefined {
    const reference = schema.$ref;
    if (typeof reference !== 'string') return schema;
    if (!reference.startsWith('#')) return undefined;
    let target: unknown = this.root;
    for (const segment of reference.slice(1).split('/').slice(1)) {
      const key = decodeURIComponent(segment).replaceAll('~1', '/').replaceAll('~0', '~');
      target = isPlainObject(target) ? target[key] : undefined;
    }
    return isPlainObject(target) ? target : undefined;
  }
}

function typesOf(schema: Record<string, unknown>): string[] | undefined {
  if (typeof schema.type === 'string') return [schema.type];
  if (Array.isArray(schema.type)) return schema.type.map(String);
  if (isPlainObject(schema.properties) || Object.hasOwn(schema, 'additionalProperties')) return ['object'];
  if (Object.hasOwn(schema, 'items') || Object.hasOwn(schema, 'prefixItems')) return ['array'];
  return undefined;
}

function isObjectSchema(schema: Record<string, unknown>): boolean {
  const types = typesOf(schema);
  return types !== undefined && types.length === 1 && types[0] === 'object';
}

function hasPatterns(schema: Record<string, unknown>): boolean {
  return isPlainObject(schema.patternProperties) && Object.keys(schema.patternProperties).length > 0;
}

/** Keywords that constrain the type (the rest are annotations and constraints a type cannot show). */
function hasTypeKeywords(schema: Record<string, unknown>): boolean {
  return ['type', 'properties', 'items', 'prefixItems', 'enum', 'const', 'additionalProperties'].some(
    (keyword) => Object.hasOwn(schema, keyword),
  );
}

function withoutKeywords(
  schema: Record<string, unknown>,
  keywords: readonly string[],
): Record<string, unknown> {
  const copy = { ...schema };
  for (const keyword of keywords) delete copy[keyword];
  return copy;
}

function union(members: readonly WrittenType[]): WrittenType {
  const texts = unique(members.map((member) => member.text));
  if (texts.includes('unknown')) return UNKNOWN;
  if (texts.length === 0) return { text: 'never', compound: false };
  if (texts.length === 1) return members.find((member) => member.text === texts[0]) as WrittenType;
  return {
    text: members
      .filter((member, index) => texts.indexOf(member.text) === index)
      .map((member) => (member.compound && member.text.includes(' & ') ? `(${member.text})` : member.text))
      .join(' | '),
    compound: true,
  };
}

function intersection(members: readonly WrittenType[]): WrittenType {
  const texts = unique(members.map((member) => member.text)).filter((text) => text !== 'unknown');
  if (texts.length === 0) return UNKNOWN;
  if (texts.length === 1) return members.find((member) => member.text === texts[0]) as WrittenType;
  return {
    text: texts.map((text) => (text.includes(' | ') ? `(${text})` : text)).join(' & '),
    compound: true,
  };
}

function unique(texts: readonly string[]): string[] {
  return [...new Set(texts)];
}

function parenthesise(type: WrittenType): string {
  return type.compound ? `(${type.text})` : type.text;
}

/** A JSON value as a TypeScript literal type (JSON text is valid TypeScript). */
function literal(value: unknown): WrittenType {
  if (value === undefined) return UNKNOWN;
  return { text: jsonText(value), compound: false };
}

function jsonText(value: unknown): string {
  return (JSON.stringify(value) ?? 'undefined')
    .replaceAll('\u2028', '\\u2028')
    .replaceAll('\u2029', '\\u2029');
}

/** A property or method name: as it is when it is an identifier, else a quoted string. */
function propertyKey(name: string): string {
  return isIdentifier(name) ? name : jsonText(name);
}

function describe(schema: unknown): string | undefined {
  if (!isPlainObject(schema)) return undefined;
  const text = typeof schema.description === 'string' ? schema.description.trim() : '';
  const title = typeof schema.title === 'string' ? schema.title.trim() : '';
  const described = text !== '' ? text : title;
  return described === '' ? undefined : described;
}

function propertyDocumentation(property: unknown, direction: 'input' | 'output'): string[] {
  if (!isPlainObject(property)) return [];
  const lines: string[] = [];
  const description = describe(property);
  if (description !== undefined) lines.push(description);
  const facts: string[] = [];
  if (property.type === 'integer') facts.push('an integer');
  if (typeof property.format === 'string') facts.push(`format ${property.format}`);
  for (const [keyword, words] of [
    ['minimum', '≥'],
    ['exclusiveMinimum', '>'],
    ['maximum', '≤'],
    ['exclusiveMaximum', '<'],
  ] as const) {
    const bound = property[keyword];
    // zod writes the safe-integer range as the bounds of every `.int()`: nothing to tell.
    if (typeof bound === 'number' && Math.abs(bound) !== Number.MAX_SAFE_INTEGER)
      facts.push(`${words} ${bound}`);
  }
  if (typeof property.minLength === 'number')
    facts.push(`at least ${count(property.minLength, 'character')}`);
  if (typeof property.maxLength === 'number') facts.push(`at most ${count(property.maxLength, 'character')}`);
  if (typeof property.pattern === 'string') facts.push(`matching /${property.pattern}/`);
  if (!Array.isArray(property.prefixItems)) {
    if (typeof property.minItems === 'number') facts.push(`at least ${count(property.minItems, 'item')}`);
    if (typeof property.maxItems === 'number') facts.push(`at most ${count(property.maxItems, 'item')}`);
  }
  if (facts.length > 0) lines.push(`${capitalise(facts.join(', '))}.`);
  if (direction === 'input' && Object.hasOwn(property, 'default')) {
    lines.push(`@default ${jsonText(property.default)}`);
  }
  if (property.deprecated === true) lines.push('@deprecated');
  return lines;
}

function count(value: number, noun: string): string {
  return `${value} ${noun}${value === 1 ? '' : 's'}`;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A JSDoc comment of these paragraphs at this indentation (none when there is nothing to say). */
function formatComment(paragraphs: readonly string[], indent: string): string[] {
  const lines = paragraphs
    .flatMap((paragraph) => paragraph.split(/\r\n|\r|\n/))
    .map((line) => line.replaceAll('*/', '*\\/').trimEnd());
  if (lines.length === 0) return [];
  if (lines.length === 1) return [`${indent}/** ${lines[0]} */`];
  return [
    `${indent}/**`,
    ...lines.map((line) => (line === '' ? `${indent} *` : `${indent} * ${line}`)),
    `${indent} */`,
  ];
}
