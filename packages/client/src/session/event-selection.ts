import type { EventFilter, EventType, StreamEvent } from '@enclave-vm/types';

const ALWAYS_DELIVERED: ReadonlySet<string> = new Set<EventType>(['session_init', 'final']);

/**
 * Which events a session delivers, from the user's {@link EventFilter}: `predicate` decides per
 * event (`session_init` and `final` always pass), and `wireFilter` is what the broker is asked for —
 * the same filter, except that `tool_call` always travels, since the client must see the calls it
 * answers.
 */
export interface EventSelection {
  /** Whether an event is delivered; undefined when every event is. */
  predicate: ((event: StreamEvent) => boolean) | undefined;
  /** The filter sent with `POST /execute`; undefined when nothing is filtered. */
  wireFilter: EventFilter | undefined;
}

/** Builds the {@link EventSelection} of a filter. */
export function selectEvents(filter: EventFilter | undefined): EventSelection {
  if (filter === undefined) return { predicate: undefined, wireFilter: undefined };
  const allowed = filter.types === undefined ? undefined : new Set<string>(filter.types);
  const blocked = new Set<string>(filter.blockedTypes ?? []);
  if (allowed === undefined && blocked.size === 0) return { predicate: undefined, wireFilter: undefined };
  const wireFilter: EventFilter = {};
  if (filter.types !== undefined) {
    wireFilter.types = filter.types.includes('tool_call')
      ? [...filter.types]
      : [...filter.types, 'tool_call'];
  }
  const wireBlocked = (filter.blockedTypes ?? []).filter((type) => type !== 'tool_call');
  if (wireBlocked.length > 0) wireFilter.blockedTypes = wireBlocked;
  const filtersOnWire = wireFilter.types !== undefined || wireFilter.blockedTypes !== undefined;
  return {
    predicate: (event) => {
      if (ALWAYS_DELIVERED.has(event.type)) return true;
      if (allowed !== undefined && !allowed.has(event.type)) return false;
      return !blocked.has(event.type);
    },
    wireFilter: filtersOnWire ? wireFilter : undefined,
  };
}
