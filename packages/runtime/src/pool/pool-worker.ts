/**
 * Entry of a pool worker thread: runs sessions with an in-thread executor and batches everything a
 * turn of this thread produces (events of any number of sessions) into one message to the pool.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { RuntimeEvent } from '@enclave-vm/types';
import type { ToolOutcome } from '../executor/execution-types.js';
import { InThreadExecutor } from '../executor/in-thread-executor.js';
import type { SessionRun } from '../executor/session-run.js';
import type {
  PoolCommand,
  PoolToWorkerMessage,
  PoolWorkerData,
  WorkerToPoolMessage,
} from './pool-messages.js';

const port = parentPort;
if (port === null) throw new Error('pool-worker must run in a worker thread');
const data = workerData as PoolWorkerData;
const cancelFlags = new Int32Array(data.cancelFlags);
const executor = new InThreadExecutor(data.provider);
const runs = new Map<number, SessionRun>();
let handled = 0;
let batches: (number | RuntimeEvent[])[] = [];
let flushScheduled = false;

function send(message: WorkerToPoolMessage): void {
  port?.postMessage(message);
}

function flush(): void {
  flushScheduled = false;
  const message: WorkerToPoolMessage = { type: 'events', handled, batches };
  batches = [];
  send(message);
}

function queue(key: number, events: RuntimeEvent[]): void {
  batches.push(key, events);
  if (!flushScheduled) {
    flushScheduled = true;
    queueMicrotask(() => {
      if (flushScheduled) flush();
    });
  }
}

// A busy guest's interrupt polls may end other sessions (deadline, cancel): send those at once.
executor.setHousekeepingListener(() => {
  if (batches.length > 0) flush();
});

function handle(command: PoolCommand, touched: Set<SessionRun>): void {
  if (command.type === 'execute') {
    const { key, slot } = command;
    cancelFlags[slot] = 0;
    const run = executor.startRun(
      { sessionId: command.sessionId, code: command.code, limits: command.limits, context: command.context },
      {
        onEvents: (events) => queue(key, events),
        onEnd: () => runs.delete(key),
        isCancelRequested: () => Atomics.load(cancelFlags, slot) !== 0,
      },
    );
    if (!run.ended) runs.set(key, run);
  } else if (command.type === 'results') {
    const results = command.results;
    for (let index = 0; index + 2 < results.length; index += 3) {
      const run = runs.get(results[index] as number);
      if (run === undefined) continue;
      try {
        run.submitToolResult(results[index + 1] as string, results[index + 2] as ToolOutcome);
        touched.add(run);
      } catch {
        // The pool validated the answer; a result for a call that timed out here is dropped.
      }
    }
  } else {
    runs.get(command.key)?.cancel(command.reason);
  }
}

port.on('message', (message: PoolToWorkerMessage) => {
  handled += 1;
  const touched = new Set<SessionRun>();
  try {
    for (const command of message) {
      try {
        handle(command, touched);
      } catch {
        // One command that cannot be handled (it never happens with the pool's own messages) must
        // not keep the others from running.
      }
    }
    // Results that arrived together reach each guest in one turn.
    for (const run of touched) run.flushResults();
  } finally {
    // Every handled message is acknowledged, with whatever it produced.
    flush();
  }
});

void executor.prewarm().then(
  () => send({ type: 'ready' }),
  () => send({ type: 'ready' }),
);
