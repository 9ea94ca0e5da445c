import { EnclaveError, validate } from '@enclave-vm/types';
import type { z } from 'zod';

/**
 * Validates a request body or query with its schema; a bad one throws `VALIDATION_ERROR` (400) with
 * the readable message of `validate` and the failing paths in `details.issues`.
 */
export function parseBody<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  what: string,
): z.output<Schema> {
  const result = validate(schema, value);
  if (result.success) return result.data;
  throw new EnclaveError('VALIDATION_ERROR', `Invalid ${what}: ${result.message}`, {
    details: {
      issues: result.issues
        .slice(0, 20)
        .map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
    },
  });
}
