/** A value as readable JSON: indented, with `undefined` spelled out (JSON has no word for it). */
export function formatJson(value: unknown): string {
  if (value === undefined) return 'undefined';
  return JSON.stringify(value, null, 2) ?? String(value);
}
