import type { RuntimeEvent, SessionLimits } from '@enclave-vm/types';
import type { ToolOutcome } from '../executor/execution-types.js';
import type { SandboxProviderOptions } from '../sandbox/sandbox-provider.js';

/** What the pool hands a worker thread when it starts it. */
export interface PoolWorkerData {
  /** One flag per session slot; the pool sets a slot's flag to cancel a session while its thread is busy. */
  cancelFlags: SharedArrayBuffer;
  /** Options of the thread's sandbox provider. */
  provider: SandboxProviderOptions;
}

/** Pool → worker: start a session. `key` names the session on this thread; `slot` is its cancel flag. */
export interface PoolExecuteCommand {
  type: 'execute';
  key: number;
  slot: number;
  sessionId: string;
  code: string;
  limits: SessionLimits;
  context: Record<string, unknown> | undefined;
}

/**
 * Pool → worker: tool results that arrived together, flattened as
 * `[key, callId, outcome, key, callId, outcome, ...]`.
 */
export interface PoolResultsCommand {
  type: 'results';
  results: (number | string | ToolOutcome)[];
}

/** Pool → worker: cancel a session. */
export interface PoolCancelCommand {
  type: 'cancel';
  key: number;
  reason: string | undefined;
}

/** One thing the pool asks a worker thread to do. */
export type PoolCommand = PoolExecuteCommand | PoolResultsCommand | PoolCancelCommand;

/**
 * The one kind of message the pool sends a worker thread: every command of one tick of the calling
 * thread, in order (one message per tick keeps both threads' wake-ups and copies few).
 */
export type PoolToWorkerMessage = PoolCommand[];

/**
 * Worker → pool: the events of one turn of the thread (several sessions), flattened as
 * `[key, events, key, events, ...]`, and how many pool messages the thread has handled so far
 * (an acknowledgement: a thread with unacknowledged messages is busy).
 */
export interface WorkerEventsMessage {
  type: 'events';
  handled: number;
  batches: (number | RuntimeEvent[])[];
}

/** Worker → pool: the thread is up and its warm sandboxes are ready. */
export interface WorkerReadyMessage {
  type: 'ready';
}

/** Every message a worker thread sends the pool. */
export type WorkerToPoolMessage = WorkerEventsMessage | WorkerReadyMessage;
