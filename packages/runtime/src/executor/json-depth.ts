/**
 * How deeply values that cross the sandbox boundary may nest: tool arguments, tool results, the
 * result and the context. Deeper values end or fail only their own session (`JSON_TOO_DEEP`); no
 * real data nests this deep, while a value nested thousands of levels deep breaks recursive
 * serializers along the way (structured clone, `JSON.stringify`).
 */
export const MAX_JSON_DEPTH = 512;

/** Whether a JSON-like value nests arrays and objects deeper than `maxDepth` (walked without recursion). */
export function exceedsJsonDepth(value: unknown, maxDepth: number = MAX_JSON_DEPTH): boolean {
  if (value === null || typeof value !== 'object') return false;
  const values: object[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const current = values.pop() as object;
    const depth = depths.pop() as number;
    if (depth > maxDepth) return true;
    const children: unknown[] = Array.isArray(current) ? current : Object.values(current);
    for (const child of children) {
      if (child !== null && typeof child === 'object') {
        values.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}
