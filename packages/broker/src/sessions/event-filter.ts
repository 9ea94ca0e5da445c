import type { EventFilter, EventType } from '@enclave-vm/types';
import type { LoggedEvent } from './logged-event.js';

/** Decides whether a stream carries a logged event. */
export type EventPredicate = (entry: LoggedEvent) => boolean;

const ALWAYS_SENT: ReadonlySet<EventType> = new Set(['session_init', 'final']);

/**
 * Turns an {@link EventFilter} into a predicate: with `types`, only those types pass; `blockedTypes`
 * never pass; `session_init` and `final` always pass. Without a filter every event passes. A sealed
 * event is filtered by the type of the event it seals.
 */
export function createEventPredicate(filter: EventFilter | undefined): EventPredicate | undefined {
  if (filter === undefined) return undefined;
  const allowed = filter.types === undefined ? undefined : new Set<string>(filter.types);
  const blocked = new Set<string>(filter.blockedTypes ?? []);
  if (allowed === undefined && blocked.size === 0) return undefined;
  return (entry) => {
    const type = entry.type;
    if (ALWAYS_SENT.has(type)) return true;
    if (allowed !== undefined && !allowed.has(type)) return false;
    return !blocked.has(type);
  };
}
