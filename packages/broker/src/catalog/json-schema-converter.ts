import type { OpenApiDocument } from './load-open-api-document.js';
import { isJsonObject, resolvePointer } from './resolve-pointer.js';

/** JSON Schema nodes written at most for one operation's arguments; past it, a schema accepts anything. */
const MAX_SCHEMA_NODES = 20_000;
/** Nesting at most; deeper schemas accept anything. */
const MAX_DEPTH = 48;

/** Keywords whose value is one schema. */
const SCHEMA_KEYWORDS = [
  'additionalProperties',
  'not',
  'if',
  'then',
  'else',
  'contains',
  'propertyNames',
  'unevaluatedProperties',
  'unevaluatedItems',
  'contentSchema',
] as const;
/** Keywords whose value is a list of schemas. */
const SCHEMA_LIST_KEYWORDS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'] as const;
/** Keywords whose value maps names to schemas. */
const SCHEMA_MAP_KEYWORDS = ['properties', 'patternProperties', 'dependentSchemas'] as const;
/** Keywords copied as they are (their values are JSON data, not schemas). */
const DATA_KEYWORDS = new Set([
  'type',
  'enum',
  'const',
  'format',
  'multipleOf',
  'maximum',
  'minimum',
  'maxLength',
  'minLength',
  'pattern',
  'maxItems',
  'minItems',
  'uniqueItems',
  'maxContains',
  'minContains',
  'maxProperties',
  'minProperties',
  'required',
  'dependentRequired',
  'title',
  'description',
  'default',
  'deprecated',
  'readOnly',
  'writeOnly',
  'examples',
  'contentEncoding',
  'contentMediaType',
]);
const JSON_TYPES = new Set(['null', 'boolean', 'object', 'array', 'number', 'string', 'integer']);

/**
 * Turns OpenAPI schema objects (3.0, 3.1 or Swagger 2.0) into plain JSON Schema (draft 2020-12) that
 * holds no `$ref` and no object cycle:
 * - references left by the parser (the circular ones) are expanded until they recur; the recurring
 *   one becomes `{ type, description: '… (recursive, not expanded)' }`, which accepts any value of
 *   that type;
 * - 3.0's `nullable: true` adds `null` to `type` (and to `enum`), boolean `exclusiveMinimum` /
 *   `exclusiveMaximum` become numbers, `example` becomes `examples`, Swagger's `type: file` a string;
 * - OpenAPI-only keywords (`discriminator`, `xml`, `externalDocs`, `x-…`) are dropped; `readOnly`
 *   properties are left out of request schemas (they belong to responses, not to arguments) and
 *   `writeOnly` properties out of response schemas;
 * - a schema past 20,000 nodes or 48 levels is cut there with a schema that accepts anything (a
 *   shared subschema referenced from many places could otherwise expand exponentially).
 */
export class JsonSchemaConverter {
  private nodes = 0;
  private leftOut: 'readOnly' | 'writeOnly' = 'readOnly';

  constructor(private readonly document: OpenApiDocument) {}

  /**
   * Converts one schema of the document (each call has its own node budget): of what is sent
   * (`request`, the default: `readOnly` properties left out) or of what comes back (`response`:
   * `writeOnly` properties left out).
   */
  convert(schema: unknown, direction: 'request' | 'response' = 'request'): Record<string, unknown> {
    this.nodes = 0;
    this.leftOut = direction === 'request' ? 'readOnly' : 'writeOnly';
    const converted = this.node(schema, [], 0);
    return typeof converted === 'boolean' ? (converted ? {} : { not: {} }) : converted;
  }

  private node(
    schema: unknown,
    expanding: readonly string[],
    depth: number,
  ): Record<string, unknown> | boolean {
    if (typeof schema === 'boolean') return schema;
    if (!isObject(schema)) return {};
    if (++this.nodes > MAX_SCHEMA_NODES || depth > MAX_DEPTH) {
      return { description: 'Not described further: the schema is too large or too deep' };
    }
    const reference = schema.$ref;
    if (typeof reference === 'string') return this.reference(schema, reference, expanding, depth);
    const is30 = this.document.specification !== '3.1';
    const result: Record<string, unknown> = {};
    for (const [keyword, value] of Object.entries(schema)) {
      if (DATA_KEYWORDS.has(keyword)) result[keyword] = copyJson(value);
    }
    if (schema.type === 'file') result.type = 'string';
    if (Array.isArray(result.type)) result.type = result.type.filter((type) => JSON_TYPES.has(String(type)));
    else if (result.type !== undefined && !JSON_TYPES.has(String(result.type))) delete result.type;
    if (is30 && Object.hasOwn(schema, 'example') && result.examples === undefined) {
      result.examples = [copyJson(schema.example)];
    }
    if (!Array.isArray(result.examples)) delete result.examples;
    if (is30) {
      convertExclusiveBound(result, 'exclusiveMinimum', 'minimum');
      convertExclusiveBound(result, 'exclusiveMaximum', 'maximum');
    } else {
      for (const keyword of ['exclusiveMinimum', 'exclusiveMaximum'] as const) {
        if (typeof schema[keyword] === 'number') result[keyword] = schema[keyword];
      }
    }
    for (const keyword of SCHEMA_KEYWORDS) {
      if (Object.hasOwn(schema, keyword)) {
        const value = schema[keyword];
        result[keyword] =
          keyword === 'additionalProperties' && typeof value === 'boolean'
            ? value
            : this.node(value, expanding, depth + 1);
      }
    }
    if (Object.hasOwn(schema, 'items')) {
      const items = schema.items;
      if (Array.isArray(items))
        result.prefixItems = items.map((item) => this.node(item, expanding, depth + 1));
      else result.items = this.node(items, expanding, depth + 1);
    }
    for (const keyword of SCHEMA_LIST_KEYWORDS) {
      const list = schema[keyword];
      if (Array.isArray(list)) result[keyword] = list.map((item) => this.node(item, expanding, depth + 1));
    }
    for (const keyword of SCHEMA_MAP_KEYWORDS) {
      const map = schema[keyword];
      if (!isObject(map)) continue;
      const converted: Record<string, unknown> = {};
      for (const [name, child] of Object.entries(map)) {
        converted[name] = this.node(child, expanding, depth + 1);
      }
      result[keyword] = converted;
    }
    dropProperties(result, this.leftOut);
    if (is30 && schema.nullable === true) return makeNullable(result);
    return result;
  }

  private reference(
    schema: Record<string, unknown>,
    reference: string,
    expanding: readonly string[],
    depth: number,
  ): Record<string, unknown> | boolean {
    const target = resolvePointer(this.document.root, reference);
    const { $ref: _reference, ...siblings } = schema;
    const annotations =
      Object.keys(siblings).length > 0 ? this.node(siblings, expanding, depth + 1) : undefined;
    let expanded: Record<string, unknown> | boolean;
    if (target === undefined) {
      expanded = { description: `Not described: ${reference} cannot be resolved` };
    } else if (expanding.includes(reference)) {
      expanded = recursionStub(target, reference);
    } else {
      expanded = this.node(target, [...expanding, reference], depth + 1);
    }
    if (annotations === undefined || typeof annotations === 'boolean') return expanded;
    if (typeof expanded === 'boolean') return expanded ? annotations : { not: {} };
    return { ...expanded, ...annotations };
  }
}

function recursionStub(target: unknown, reference: string): Record<string, unknown> {
  const name = reference.split('/').at(-1) ?? reference;
  const stub: Record<string, unknown> = { description: `${name} (recursive, not expanded)` };
  if (isObject(target) && typeof target.type === 'string' && JSON_TYPES.has(target.type)) {
    stub.type = target.type;
    if (target.nullable === true) stub.type = [target.type, 'null'];
  }
  return stub;
}

function convertExclusiveBound(
  result: Record<string, unknown>,
  keyword: 'exclusiveMinimum' | 'exclusiveMaximum',
  bound: 'minimum' | 'maximum',
): void {
  const flag = result[keyword];
  delete result[keyword];
  if (typeof flag === 'number') result[keyword] = flag;
  else if (flag === true && typeof result[bound] === 'number') {
    result[keyword] = result[bound];
    delete result[bound];
  }
}

function makeNullable(schema: Record<string, unknown>): Record<string, unknown> {
  if (Array.isArray(schema.enum) && !schema.enum.includes(null)) schema.enum = [...schema.enum, null];
  if (typeof schema.type === 'string') {
    if (schema.type !== 'null') schema.type = [schema.type, 'null'];
    return schema;
  }
  if (Array.isArray(schema.type)) {
    if (!schema.type.includes('null')) schema.type = [...schema.type, 'null'];
    return schema;
  }
  const { description, title, default: defaultValue, ...rest } = schema;
  return {
    ...(title === undefined ? {} : { title }),
    ...(description === undefined ? {} : { description }),
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
    anyOf: [rest, { type: 'null' }],
  };
}

/** Leaves out the properties marked `readOnly` (or `writeOnly`), and their `required` entries. */
function dropProperties(schema: Record<string, unknown>, marker: 'readOnly' | 'writeOnly'): void {
  const properties = schema.properties;
  if (!isObject(properties)) return;
  const marked = Object.entries(properties)
    .filter(([, property]) => isObject(property) && property[marker] === true)
    .map(([name]) => name);
  if (marked.length === 0) return;
  for (const name of marked) delete properties[name];
  if (Array.isArray(schema.required)) {
    schema.required = schema.required.filter((name) => !marked.includes(String(name)));
  }
}

/** A deep copy of JSON data (the parser may share objects between places of the document). */
function copyJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyJson);
  if (isObject(value)) {
    const copy: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) copy[key] = copyJson(child);
    return copy;
  }
  return value;
}

const isObject = isJsonObject;
