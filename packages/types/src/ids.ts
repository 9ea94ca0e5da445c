import { z } from 'zod';

/** A session id: 1–128 characters of letters, digits, `_` and `-` (safe in URLs and Redis keys). */
export const SessionIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,128}$/, 'session id must be 1-128 characters of A-Z, a-z, 0-9, _ and -');

/** A tool call id, unique within its session: same alphabet as session ids. */
export const CallIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,128}$/, 'call id must be 1-128 characters of A-Z, a-z, 0-9, _ and -');

/** A tool name as the guest spells it (`getCurrentTime`, `users:list`): any non-empty string up to 256. */
export const ToolNameSchema = z.string().min(1).max(256);
