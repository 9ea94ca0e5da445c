import { createHash } from 'node:crypto';

/** What naming needs of an operation. */
export interface NamedOperation {
  operationId?: string;
  /** HTTP method, upper case. */
  method: string;
  path: string;
}

/** Longest tool name the registry accepts. */
const MAX_NAME_LENGTH = 256;
const HTTP_METHOD_ORDER = ['GET', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'HEAD', 'PATCH', 'TRACE'];

/** Orders operations the same way whatever order the document lists them in: by path, then method. */
export function compareOperations(left: NamedOperation, right: NamedOperation): number {
  if (left.path !== right.path) return left.path < right.path ? -1 : 1;
  return HTTP_METHOD_ORDER.indexOf(left.method) - HTTP_METHOD_ORDER.indexOf(right.method);
}

/**
 * Gives every operation of a service its tool name, `${service}_${operationId}`. Characters other
 * than letters, digits, `_`, `.` and `-` become `_`. Without an operationId the name is made of the
 * method and the path (`GET /users/{id}` → `get_users_id`). Names are deterministic: operations with
 * an operationId are named first, then the others, each group in {@link compareOperations} order; a
 * name already given gets `_2`, `_3`, … A name longer than 256 characters is shortened and ends
 * with a hash of the full name.
 *
 * @returns the names, index for index with `operations`
 */
export function assignToolNames(service: string, operations: readonly NamedOperation[]): string[] {
  const order = operations
    .map((operation, index) => ({ operation, index }))
    .sort((left, right) => {
      const leftNamed = left.operation.operationId !== undefined ? 0 : 1;
      const rightNamed = right.operation.operationId !== undefined ? 0 : 1;
      return leftNamed - rightNamed || compareOperations(left.operation, right.operation);
    });
  const taken = new Set<string>();
  const names: string[] = new Array(operations.length);
  for (const { operation, index } of order) {
    const base = fitToolName(`${service}_${baseName(operation)}`);
    let name = base;
    for (let suffix = 2; taken.has(name); suffix++) name = fitToolName(`${base}_${suffix}`);
    taken.add(name);
    names[index] = name;
  }
  return names;
}

function baseName(operation: NamedOperation): string {
  if (operation.operationId !== undefined) {
    const sanitized = sanitize(operation.operationId);
    if (sanitized !== '') return sanitized;
  }
  const path = sanitize(operation.path.replace(/[{}]/g, ''));
  return path === '' ? operation.method.toLowerCase() : `${operation.method.toLowerCase()}_${path}`;
}

/** Characters other than letters, digits, `_`, `.` and `-` become `_` (none at either end). */
export function sanitizeNamePart(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '');
}

const sanitize = sanitizeNamePart;

/** A tool name of at most 256 characters: a longer one is cut and ends with a hash of the whole. */
export function fitToolName(name: string): string {
  if (name.length <= MAX_NAME_LENGTH) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 12);
  return `${name.slice(0, MAX_NAME_LENGTH - hash.length - 1)}_${hash}`;
}
