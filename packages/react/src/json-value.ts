/**
 * A value that survives `JSON.stringify` and `JSON.parse` unchanged: what a sandboxed script can
 * return, since results cross the sandbox boundary as JSON only.
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
