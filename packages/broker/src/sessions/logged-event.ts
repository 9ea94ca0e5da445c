import type { EncryptedEvent, EventType, StreamEvent } from '@enclave-vm/types';

/**
 * One entry of a session's event log. Plain data: a store may serialize it (JSON, Redis Stream
 * fields) and get back exactly what it was given.
 */
export interface LoggedEvent {
  /** The event's seq (the same as `event.seq`). */
  readonly seq: number;
  /**
   * The event's type; for a sealed event, the type of the event it seals. Filters and the
   * end-of-stream check read it, so that a broker without the session's keys can serve its log.
   */
  readonly type: EventType;
  /** The event as clients receive it: plain, or sealed (`type: 'encrypted'`) in an encrypted session. */
  readonly event: StreamEvent | EncryptedEvent;
}

/** The log entry of a plain event. */
export function loggedEvent(event: StreamEvent): LoggedEvent {
  return { seq: event.seq, type: event.type, event };
}

/** Whether an entry is the session's `final` (sealed or not). */
export function isFinalEntry(entry: LoggedEvent | undefined): boolean {
  return entry !== undefined && entry.type === 'final';
}
