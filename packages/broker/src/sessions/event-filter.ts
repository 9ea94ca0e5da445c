import type { EventFilter, EventType, StreamEvent } from '@enclave-vm/types';
import { loggedTypeOf } from './session-encryption.js';

/** Decides whether a stream carries an event. */
export type EventPredicate = (event: StreamEvent) => boolean;

const ALWAYS_SENT: ReadonlySet<EventType> = new Set(['session_init', 'final']);

/**
 * Turns an {@link EventFilter} into a predicate: with `types`, only those types pass; `blockedTypes`
 * never pass; `session_init` and `final` always pass. Without a filter every event passes.
 */
export function createEventPredicate(filter: EventFilter | undefined): EventPredicate | undefined {
  if (filter === undefined) return undefined;
  const allowed = filter.types === undefined ? undefined : new Set<string>(filter.types);
  const blocked = new Set<string>(filter.blockedTypes ?? []);
  if (allowed === undefined && blocked.size === 0) return undefined;
  return (event) => {
    // A sealed event is filtered by the type of the event it seals.
    const type = loggedTypeOf(event);
    if (ALWAYS_SENT.has(type)) return true;
    if (allowed !== undefined && !allowed.has(type)) return false;
    return !blocked.has(type);
  };
}
