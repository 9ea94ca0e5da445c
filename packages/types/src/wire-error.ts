import { z } from 'zod';

/**
 * An error as it travels on the wire (inside events, tool results and channel messages).
 * `code` is a string rather than the closed enum so that a newer peer's codes still parse;
 * use `getErrorCodeInfo` to interpret it.
 */
export const WireErrorSchema = z.object({
  code: z.string().min(1).max(100),
  message: z.string().max(100_000),
  /** Structured detail, e.g. the validation issues of a field. */
  details: z.unknown().optional(),
});

/** An error as it travels on the wire. */
export type WireError = z.infer<typeof WireErrorSchema>;
