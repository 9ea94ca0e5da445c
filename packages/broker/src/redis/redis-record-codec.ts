import { EnclaveError, type EventType } from '@enclave-vm/types';
import type { LoggedEvent } from '../sessions/logged-event.js';
import type { Session } from '../sessions/session.js';
import type { SessionChanges } from '../sessions/session-store.js';

/** Fields stored as plain strings (the Lua scripts read them); every other field is JSON. */
const RAW_FIELDS: ReadonlySet<string> = new Set(['id', 'status', 'owner', 'lastSeq']);

/** The record as hash field/value pairs (fields whose value is `undefined` are left out). */
export function encodeRecord(session: Session): string[] {
  const pairs: string[] = [];
  for (const [field, value] of Object.entries(session)) {
    if (value === undefined) continue;
    pairs.push(field, RAW_FIELDS.has(field) ? String(value) : JSON.stringify(value));
  }
  return pairs;
}

/** Changes as field/value pairs; an empty value deletes the field (a change to `undefined`). */
export function encodeChanges(changes: SessionChanges | undefined): string[] {
  const pairs: string[] = [];
  if (changes === undefined) return pairs;
  for (const [field, value] of Object.entries(changes)) {
    if (value === undefined) pairs.push(field, '');
    else pairs.push(field, RAW_FIELDS.has(field) ? String(value) : JSON.stringify(value));
  }
  return pairs;
}

/** The record a hash holds, or `null` for an empty (missing) hash. */
export function decodeRecord(hash: Record<string, string>): Session | null {
  if (hash.status === undefined) return null;
  const session: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(hash)) {
    if (field === 'lastSeq') session[field] = Number(value);
    else if (RAW_FIELDS.has(field)) session[field] = value;
    else session[field] = JSON.parse(value);
  }
  return session as unknown as Session;
}

/** A log entry as Redis Stream arguments: its id `<seq>-0`, its type, its event as JSON. */
export function encodeEntry(entry: LoggedEvent): [string, string, string] {
  return [`${entry.seq}-0`, entry.type, JSON.stringify(entry.event)];
}

/** A stream entry as XRANGE and XREAD return it. */
export type StreamEntry = [id: string, fields: string[]];

/** The log entry of a stream entry. */
export function decodeEntry(entry: StreamEntry): LoggedEvent {
  const [id, fields] = entry;
  let type: string | undefined;
  let json: string | undefined;
  for (let index = 0; index + 1 < fields.length; index += 2) {
    if (fields[index] === 't') type = fields[index + 1];
    else if (fields[index] === 'e') json = fields[index + 1];
  }
  if (type === undefined || json === undefined) {
    throw new EnclaveError('INTERNAL_ERROR', `Log entry ${id} has no type or event`);
  }
  return { seq: seqOf(id), type: type as EventType, event: JSON.parse(json) };
}

/** The seq of a stream entry id `<seq>-0`. */
export function seqOf(id: string): number {
  const dash = id.indexOf('-');
  return Number(dash === -1 ? id : id.slice(0, dash));
}
