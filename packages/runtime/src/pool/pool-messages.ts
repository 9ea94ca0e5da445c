import type { MessagePort } from 'node:worker_threads';
import type { SandboxProviderOptions } from '../sandbox/sandbox-provider.js';

/** What the pool hands a worker thread when it starts it. */
export interface PoolWorkerData {
  /** One flag per session slot; the pool sets a slot's flag to cancel a session while its thread is busy. */
  cancelFlags: SharedArrayBuffer;
  /** The shared memory of the thread's channel (see `ThreadChannel`). */
  channel: SharedArrayBuffer;
  /** The thread's end of the port that carries the channel's frames too large for its rings. */
  bulkPort: MessagePort;
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
 * and numbers (see {@link PoolCommandKind}): one frame of the thread's channel. Values the guest or
 * a tool produced travel as JSON text made on the sending thread, so nothing can fail to arrive
 * however the data is shaped, and one frame per tick keeps both threads' wake-ups and copies few.
 */
export type PoolToWorkerMessage = (string | number)[];

/**
 * Worker → pool, one frame of the thread's channel per turn of the thread: `key, eventsJson, key,
 * eventsJson, ...`, the events of every session that turn produced (each batch a JSON array).
 */
export type WorkerEventsMessage = (string | number)[];

/** Worker → pool over the worker's message port (rare messages only; events use the channel). */
export const WorkerMessageKind = {
  /** `'ready'`: the thread is up and its warm sandboxes are ready. */
  ready: 'ready',
  /** `'lost'`: a message could not be read; the thread's sessions cannot be trusted to end. */
  lost: 'lost',
} as const;

/** Worker → pool over the worker's message port. */
export type WorkerToPoolMessage = [string];
