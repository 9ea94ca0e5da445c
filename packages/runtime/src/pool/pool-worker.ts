/**
 * Entry of a pool worker thread: runs sessions with an in-thread executor and batches everything a
 * turn of this thread produces (events of any number of sessions) into one message to the pool.
 */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import type { RuntimeEvent, SessionLimits } from '@enclave-vm/types';
import { InThreadExecutor } from '../executor/in-thread-executor.js';
import type { SessionRun } from '../executor/session-run.js';
import {
  PoolCommandKind,
  type PoolToWorkerMessage,
  type PoolWorkerData,
  WorkerMessageKind,
  type WorkerToPoolMessage,
} from './pool-messages.js';

const port = parentPort;
if (port === null) throw new Error('pool-worker must run in a worker thread');
const data = workerData as PoolWorkerData;
const cancelFlags = new Int32Array(data.cancelFlags);
const executor = new InThreadExecutor(data.provider);
const runs = new Map<number, SessionRun>();
let handled = 0;
let message: WorkerToPoolMessage = [WorkerMessageKind.events, 0];
let flushScheduled = false;

function flush(): void {
  flushScheduled = false;
  message[1] = handled;
  const sending = message;
  message = [WorkerMessageKind.events, 0];
  port?.postMessage(sending);
}

// Events travel as JSON text: whatever their shape (limited to MAX_JSON_DEPTH levels by the run),
// the structured clone copies a string without fail.
function queue(key: number, events: RuntimeEvent[]): void {
  let text: string;
  try {
    text = JSON.stringify(events);
  } catch (error) {
    const failure = {
      code: 'INTERNAL_ERROR' as const,
      message: `The session's events could not be sent: ${(error as Error).message}`,
    };
    text = JSON.stringify([
      { type: 'error', payload: { ...failure, recoverable: false } },
      {
        type: 'final',
        payload: {
          ok: false,
          error: failure,
          stats: { durationMs: 0, cpuTimeMs: 0, toolCalls: 0, stdoutBytes: 0 },
        },
      },
    ]);
    runs.get(key)?.terminate('INTERNAL_ERROR', failure.message);
  }
  message.push(key, text);
  if (!flushScheduled) {
    flushScheduled = true;
    queueMicrotask(() => {
      if (flushScheduled) flush();
    });
  }
}

// A busy guest's interrupt polls may end other sessions (deadline, cancel): send those at once.
executor.setHousekeepingListener(() => {
  if (message.length > 2) flush();
});

function execute(commands: PoolToWorkerMessage, at: number): void {
  const key = commands[at + 1] as number;
  const slot = commands[at + 2] as number;
  const isolationKey = commands[at + 7] as string;
  cancelFlags[slot] = 0;
  const run = executor.startRun(
    {
      sessionId: commands[at + 3] as string,
      code: commands[at + 4] as string,
      limits: JSON.parse(commands[at + 5] as string) as SessionLimits,
      isolationKey: isolationKey === '' ? undefined : isolationKey,
    },
    {
      contextJson: commands[at + 6] as string,
      onEvents: (events) => queue(key, events),
      onEnd: () => runs.delete(key),
      // The deadline counts from the request, not from when this thread got to it.
      requestedAt: (commands[at + 8] as number) - performance.timeOrigin,
      isCancelRequested: () => Atomics.load(cancelFlags, slot) !== 0,
    },
  );
  if (!run.ended) runs.set(key, run);
}

port.on('message', (commands: PoolToWorkerMessage) => {
  handled += 1;
  const touched = new Set<SessionRun>();
  try {
    let at = 0;
    while (at < commands.length) {
      const kind = commands[at];
      const start = at;
      at += kind === PoolCommandKind.execute ? 9 : kind === PoolCommandKind.result ? 4 : 3;
      try {
        if (kind === PoolCommandKind.execute) {
          execute(commands, start);
        } else if (kind === PoolCommandKind.result) {
          const run = runs.get(commands[start + 1] as number);
          if (run === undefined) continue;
          try {
            run.submitEncodedToolResult(commands[start + 2] as string, commands[start + 3] as string);
            touched.add(run);
          } catch {
            // The pool validated the answer; a result for a call that timed out here is dropped.
          }
        } else if (kind === PoolCommandKind.cancel) {
          const reason = commands[start + 2] as string;
          runs.get(commands[start + 1] as number)?.cancel(reason === '' ? undefined : reason);
        }
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

port.on('messageerror', () => {
  port.postMessage([WorkerMessageKind.lost]);
});

void executor.prewarm().then(
  () => port.postMessage([WorkerMessageKind.ready]),
  () => port.postMessage([WorkerMessageKind.ready]),
);
