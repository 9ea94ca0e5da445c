import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { ArgumentsCheck } from './parameter-arguments.js';
import { describeJsonType, isPlainObject } from './parameter-arguments.js';

/** A tool's argument check against a JSON Schema, compiled on first use. */
export interface JsonSchemaCheck {
  check(args: unknown): ArgumentsCheck;
  /** Drops the compiled validator (the tool was unregistered). */
  release(): void;
}

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };

let shared: Ajv2020 | undefined;

/**
 * One Ajv (draft 2020-12) for every JSON Schema tool: all errors reported, standard formats checked
 * (`ajv-formats`), OpenAPI's number formats (`int32`, `int64`, `float`, `double`) checked, other
 * unknown formats and keywords tolerated (documents use many), no defaults injected and no types
 * coerced: the arguments are checked, never changed.
 */
function ajv(): Ajv2020 {
  if (shared === undefined) {
    const instance = new Ajv2020({ allErrors: true, strict: false, logger: false, unicodeRegExp: false });
    addFormats(instance);
    instance.addFormat('int32', {
      type: 'number',
      validate: (value: number) => Number.isInteger(value) && value >= INT32.min && value <= INT32.max,
    });
    instance.addFormat('int64', { type: 'number', validate: (value: number) => Number.isInteger(value) });
    instance.addFormat('float', { type: 'number', validate: () => true });
    instance.addFormat('double', { type: 'number', validate: () => true });
    for (const format of ['byte', 'binary', 'password']) instance.addFormat(format, true);
    shared = instance;
  }
  return shared;
}

/**
 * Checks arguments against a JSON Schema with Ajv. The validator is compiled on the first call (a
 * catalog of a thousand operations registers fast), and a schema that cannot be compiled fails
 * every call with a message saying so. Problems come back as one readable message
 * (`limit: must be >= 1; body.name: required argument is missing`) and as `details.issues`.
 */
export function createJsonSchemaCheck(schema: Record<string, unknown>): JsonSchemaCheck {
  let validate: ValidateFunction | undefined;
  let compileError: string | undefined;
  return {
    check(args) {
      const input = args === undefined ? {} : args;
      if (!isPlainObject(input)) {
        return {
          success: false,
          message: `(root): expected an object of arguments, received ${describeJsonType(input)}`,
        };
      }
      if (validate === undefined && compileError === undefined) {
        try {
          validate = ajv().compile(schema);
        } catch (error) {
          compileError = error instanceof Error ? error.message : String(error);
        }
      }
      if (validate === undefined) {
        return {
          success: false,
          message: `(schema): the argument schema cannot be checked: ${compileError}`,
        };
      }
      if (validate(input)) return { success: true, args: input };
      const issues = (validate.errors ?? []).map(toIssue);
      return {
        success: false,
        message: issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '),
        details: { issues },
      };
    },
    release() {
      if (validate !== undefined) ajv().removeSchema(schema);
      validate = undefined;
    },
  };
}

function toIssue(error: ErrorObject): { path: string; message: string } {
  const segments = error.instancePath
    .split('/')
    .slice(1)
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'));
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'required' && typeof params.missingProperty === 'string') {
    return { path: [...segments, params.missingProperty].join('.'), message: 'required argument is missing' };
  }
  if (error.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    return {
      path: [...segments, params.additionalProperty].join('.'),
      message: segments.length === 0 ? 'unknown argument' : 'unknown property',
    };
  }
  return {
    path: segments.length === 0 ? '(root)' : segments.join('.'),
    message: error.message ?? 'is invalid',
  };
}
