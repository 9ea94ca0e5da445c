import type { SessionLimits } from '@enclave-vm/types';
import type { ToolOutcome } from './execution-types.js';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from './json-depth.js';

/**
 * One tool outcome in the form the guest's bridge reads (`[id, 1, result?]` or
 * `[id, 0, code, message, details?]`, JSON text), checked against the session's limits: a result
 * that is not JSON, nested too deeply or too large becomes an error the call throws in the guest.
 * Done where the outcome arrives (the caller's thread), so only text crosses to the sandbox.
 */
export function encodeToolOutcome(id: number, outcome: ToolOutcome, limits: SessionLimits): string {
  if (outcome.ok) {
    if (exceedsJsonDepth(outcome.result)) {
      return JSON.stringify([
        id,
        0,
        'JSON_TOO_DEEP',
        `The tool result is nested deeper than ${MAX_JSON_DEPTH} levels`,
      ]);
    }
    let json: string | undefined;
    try {
      json = JSON.stringify(outcome.result);
    } catch (error) {
      return JSON.stringify([
        id,
        0,
        'TOOL_ERROR',
        `The tool result is not JSON-serializable: ${error instanceof Error ? error.message : String(error)}`,
      ]);
    }
    if (json === undefined) return `[${id},1]`;
    const limit = limits.maxToolResultBytes;
    if (json.length > limit || (json.length * 3 > limit && Buffer.byteLength(json, 'utf8') > limit)) {
      return JSON.stringify([
        id,
        0,
        'TOOL_RESULT_TOO_LARGE',
        `The tool result exceeds ${limit} bytes of JSON`,
      ]);
    }
    return `[${id},1,${json}]`;
  }
  const error = outcome.error;
  const code = typeof error?.code === 'string' && error.code !== '' ? error.code : 'TOOL_ERROR';
  const message = typeof error?.message === 'string' ? error.message : 'The tool failed';
  if (error?.details !== undefined && !exceedsJsonDepth(error.details)) {
    try {
      return JSON.stringify([id, 0, code, message, error.details]);
    } catch {
      // Details that cannot travel are dropped; the code and message still reach the guest.
    }
  }
  return JSON.stringify([id, 0, code, message]);
}

/** The number of a call id of the form `call_<n>`, or undefined. */
export function parseCallId(callId: string): number | undefined {
  if (typeof callId !== 'string' || !callId.startsWith('call_')) return undefined;
  const id = Number(callId.slice(5));
  return Number.isSafeInteger(id) && id > 0 && `call_${id}` === callId ? id : undefined;
}
