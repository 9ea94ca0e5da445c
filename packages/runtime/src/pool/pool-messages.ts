import type { SandboxProviderOptions } from '../sandbox/sandbox-provider.js';

/** What the pool hands a worker thread when it starts it. */
export interface PoolWorkerData {
  /** One flag per session slot; the pool sets a slot's flag to cancel a session while its thread is busy. */
  cancelFlags: SharedArrayBuffer;
  /** Options of the thread's sandbox provider. */
  provider: SandboxProviderOptions;
}

/** First element of a command in a {@link PoolToWorkerMessage}. */
export const PoolCommandKind = {
  /**
   * `'e', key, slot, sessionId, code, limitsJson, contextJson, isolationKey, requestedAt` (`''`: no
   * key; `requestedAt` in ms since the epoch, so the session's deadline counts from its request).
   */
  execute: 'e',
  /** `'r', key, callId, encodedOutcome` (see `encodeToolOutcome`). */
  result: 'r',
  /** `'c', key, reason` (`''`: none). */
  cancel: 'c',
} as const;

/**
 * Pool → worker: every command of one tick of the calling thread, in order, flattened into strings
 * and numbers (see {@link PoolCommandKind}). Values the guest or a tool produced travel as JSON
 * text made on the sending thread, so the structured clone has nothing to refuse however the data
 * is shaped, and one message per tick keeps both threads' wake-ups and copies few.
 */
export type PoolToWorkerMessage = (string | number)[];

/** First element of a {@link WorkerToPoolMessage}. */
export const WorkerMessageKind = {
  /** `'ready'`: the thread is up and its warm sandboxes are ready. */
  ready: 'ready',
  /**
   * `'events', handled, key, eventsJson, key, eventsJson, ...`: the events of one turn of the thread
   * (several sessions, each batch a JSON array), and how many pool messages the thread has handled
   * so far (an acknowledgement: a thread with unacknowledged messages is busy).
   */
  events: 'events',
  /** `'lost'`: a pool message could not be read; the thread's sessions cannot be trusted to end. */
  lost: 'lost',
} as const;

/** Worker → pool, flattened like {@link PoolToWorkerMessage}. */
export type WorkerToPoolMessage = (string | number)[];
