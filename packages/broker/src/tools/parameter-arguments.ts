import type { ParameterDef } from './tool-types.js';

/** The outcome of checking a call's arguments against a tool's schema. */
export type ArgumentsCheck =
  | { success: true; args: Record<string, unknown> }
  | { success: false; message: string; details?: unknown };

/** The JSON types a {@link ParameterDef} can name. */
export const PARAMETER_TYPES: readonly ParameterDef['type'][] = [
  'string',
  'number',
  'boolean',
  'object',
  'array',
];

/** Whether a value is a plain JSON object (not null, not an array). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether a value has the JSON type a parameter declares. */
export function matchesParameterType(type: ParameterDef['type'], value: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'object':
      return isPlainObject(value);
    case 'array':
      return Array.isArray(value);
  }
}

/** The JSON type of a value, as a validation message names it. */
export function describeJsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * Checks a call's arguments against `ParameterDef`s: each required one is present, each present one
 * has its declared type, no unknown name is passed, and absent ones with a `default` get a copy of it.
 * Every problem is reported in one readable message (`limit: expected number, received string`).
 */
export function checkParameterArguments(
  parameters: Readonly<Record<string, ParameterDef>>,
  args: unknown,
): ArgumentsCheck {
  const input = args === undefined ? {} : args;
  if (!isPlainObject(input)) {
    return {
      success: false,
      message: `(root): expected an object of arguments, received ${describeJsonType(input)}`,
    };
  }
  const problems: { path: string; message: string }[] = [];
  const result: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(input)) {
    if (!Object.hasOwn(parameters, name)) {
      const known = Object.keys(parameters);
      problems.push({
        path: name,
        message:
          known.length === 0
            ? 'unknown argument (this tool takes no arguments)'
            : `unknown argument (expected one of: ${known.join(', ')})`,
      });
      continue;
    }
    result[name] = value;
  }
  for (const [name, parameter] of Object.entries(parameters)) {
    const value = input[name];
    if (value === undefined) {
      if (parameter.default !== undefined) result[name] = structuredClone(parameter.default);
      else if (parameter.required === true)
        problems.push({ path: name, message: 'required argument is missing' });
      continue;
    }
    if (!matchesParameterType(parameter.type, value)) {
      problems.push({
        path: name,
        message: `expected ${parameter.type}, received ${describeJsonType(value)}`,
      });
    }
  }
  if (problems.length > 0) {
    return {
      success: false,
      message: problems.map((problem) => `${problem.path}: ${problem.message}`).join('; '),
      details: { issues: problems },
    };
  }
  return { success: true, args: result };
}
