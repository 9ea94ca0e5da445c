import type { z } from 'zod';

/** The outcome of {@link validate}: the parsed value, or a readable message and the issues. */
export type ValidationResult<Value> =
  | { success: true; data: Value }
  | { success: false; message: string; issues: z.core.$ZodIssue[] };

/**
 * Parses a value with a schema and, on failure, returns one readable message naming each bad path,
 * e.g. `payload.seq: Too small: expected number to be >0`.
 */
export function validate<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
): ValidationResult<z.output<Schema>> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return { success: true, data: parsed.data };
  return { success: false, message: formatIssues(parsed.error.issues), issues: parsed.error.issues };
}

/** Joins zod issues into one line per issue: `path: message` (`(root)` for the top level). */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 20)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
