import { EnclaveError } from '@enclave-vm/types';
import { compileErrors, dereference, validate } from '@readme/openapi-parser';
import { parse as parseYaml } from 'yaml';

/** A parsed, validated OpenAPI document whose `$ref`s are resolved, except circular ones. */
export interface OpenApiDocument {
  /** `2.0` for Swagger 2.0, else the `openapi` field's major.minor (`3.0`, `3.1`). */
  readonly specification: '2.0' | '3.0' | '3.1';
  /**
   * The document. Every `$ref` is resolved in place except those that take part in a cycle, which
   * stay `{ $ref: '#/…' }` pointing inside this document; it holds no object cycle.
   */
  readonly root: Record<string, unknown>;
}

/**
 * Parser rules downgraded to warnings: the catalog copes with what they catch (duplicate
 * operationIds get distinct tool names; an array without `items` accepts any items; a path
 * template variable without a declared parameter becomes a required string argument; path
 * parameters are always required).
 */
const TOLERATED_RULES = {
  'array-without-items': 'warning',
  'duplicate-operation-id': 'warning',
  'unknown-required-schema-property': 'warning',
  'path-parameters-not-in-parameters': 'warning',
  'path-parameters-not-in-path': 'warning',
  'non-optional-path-parameters': 'warning',
} as const;

/**
 * Turns the text of an OpenAPI document into an {@link OpenApiDocument} with `@readme/openapi-parser`:
 * JSON or YAML, validated against the OpenAPI 3.0 / 3.1 or Swagger 2.0 schema, then dereferenced.
 * Only references inside the document are followed: a `$ref` to a file or URL is refused, so a
 * document cannot make the broker read its files or fetch other hosts. Circular references are left
 * as internal `$ref`s (never an object cycle). Throws `OPENAPI_INVALID` with a readable message.
 */
export async function loadOpenApiDocument(text: string, source: string): Promise<OpenApiDocument> {
  const parsed = parseText(text, source);
  const specification = specificationOf(parsed, source);
  const options = {
    resolve: { external: false, file: false },
    validate: { errors: { colorize: false }, rules: { openapi: TOLERATED_RULES, swagger: TOLERATED_RULES } },
    dereference: { circular: 'ignore' },
  } as const;
  let result: Awaited<ReturnType<typeof validate>>;
  try {
    // The parser works on its argument in place: each step gets its own copy.
    result = await validate(structuredClone(parsed) as never, options);
  } catch (error) {
    throw invalid(source, describe(error), error);
  }
  if (!result.valid) throw invalid(source, firstLines(compileErrors(result)));
  let root: Record<string, unknown>;
  try {
    root = (await dereference(parsed as never, options)) as unknown as Record<string, unknown>;
  } catch (error) {
    throw invalid(source, describe(error), error);
  }
  const external = findExternalReference(root);
  if (external !== undefined) {
    throw invalid(
      source,
      `it refers to ${JSON.stringify(external)}, outside the document; only references inside the document (#/…) are followed`,
    );
  }
  return { specification, root };
}

/** The first `$ref` that does not point inside the document, if any. */
function findExternalReference(root: object): string | undefined {
  const seen = new Set<object>();
  const pending: object[] = [root];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (seen.has(node)) continue;
    seen.add(node);
    const reference = (node as { $ref?: unknown }).$ref;
    if (typeof reference === 'string' && !reference.startsWith('#')) return reference;
    for (const child of Object.values(node)) {
      if (typeof child === 'object' && child !== null) pending.push(child);
    }
  }
  return undefined;
}

function parseText(text: string, source: string): Record<string, unknown> {
  let value: unknown;
  const trimmed = text.trimStart();
  try {
    value = trimmed.startsWith('{')
      ? JSON.parse(text)
      : // Aliases make a YAML bomb: a few lines that expand to gigabytes.
        parseYaml(text, { maxAliasCount: 100, merge: true });
  } catch (error) {
    throw invalid(source, `it is neither JSON nor YAML (${describe(error)})`, error);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(source, 'it is not an object');
  }
  let cyclic: boolean;
  try {
    cyclic = hasCycle(value);
  } catch (error) {
    throw invalid(source, 'it is nested too deeply', error);
  }
  if (cyclic) throw invalid(source, 'a YAML alias refers to one of its own ancestors');
  return value as Record<string, unknown>;
}

/** Whether an object graph refers back to one of its ancestors (YAML aliases can do that). */
function hasCycle(root: object): boolean {
  const ancestors = new Set<object>();
  const done = new Set<object>();
  const visit = (node: object): boolean => {
    if (done.has(node)) return false;
    if (ancestors.has(node)) return true;
    ancestors.add(node);
    for (const child of Object.values(node)) {
      if (typeof child === 'object' && child !== null && visit(child)) return true;
    }
    ancestors.delete(node);
    done.add(node);
    return false;
  };
  return visit(root);
}

function specificationOf(
  document: Record<string, unknown>,
  source: string,
): OpenApiDocument['specification'] {
  if (document.swagger === '2.0') return '2.0';
  const version = document.openapi;
  if (typeof version === 'string') {
    if (/^3\.0\.\d+$/.test(version)) return '3.0';
    if (/^3\.1\.\d+$/.test(version)) return '3.1';
  }
  throw invalid(
    source,
    `it is neither OpenAPI 3.0, OpenAPI 3.1 nor Swagger 2.0 (openapi: ${JSON.stringify(version ?? null)})`,
  );
}

function firstLines(text: string): string {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  return lines.length <= 12 ? lines.join('\n') : `${lines.slice(0, 12).join('\n')}\n…`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function invalid(source: string, reason: string, cause?: unknown): EnclaveError {
  return new EnclaveError('OPENAPI_INVALID', `The OpenAPI document of ${source} cannot be used: ${reason}`, {
    ...(cause === undefined ? {} : { cause }),
  });
}
