/**
 * Entry of a pool worker thread: runs sessions with an in-thread executor, takes the pool's
 * commands from the thread's shared-memory channel and sends everything a turn of this thread
 * produces (events of any number of sessions) back as one frame.
 *
 * Waiting: after a turn that sent tool calls, the thread polls the channel for a few tens of
 * microseconds (a tool that answers at once is answered within them, and then neither side pays a
 * wake-up), then blocks in `Atomics.wait` for a short window (the answer of a tool on the broker
 * usually comes within it), and wakes the moment the pool writes a frame. Otherwise, and after the
 * window, it waits in its event loop with `Atomics.waitAsync`, so its timers (session deadlines,
 * tool timeouts) and the preparation of its next sandboxes run. Every command wakes it either way.
 */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import type { RuntimeEvent, SessionLimits } from '@enclave-vm/types';
import { InThreadExecutor } from '../executor/in-thread-executor.js';
import type { SandboxRun } from '../executor/sandbox-run.js';
import { PollPolicy } from './poll-policy.js';
import {
  PoolCommandKind,
  type PoolToWorkerMessage,
  type PoolWorkerData,
  type WorkerEventsMessage,
  WorkerMessageKind,
  type WorkerToPoolMessage,
} from './pool-messages.js';
import { ThreadChannel } from './thread-channel.js';

/**
 * How long the thread blocks for the answers to the tool calls it just sent before it waits in its
 * event loop instead. Timers are late by at most this much while it blocks.
 */
const ANSWER_WINDOW_MS = 2;

/**
 * How long the thread polls for an answer before it blocks: a tool that answers at once (and the
 * pool's own work on the call) fits in it, and the answer then costs no wake-up on either side.
 */
const ANSWER_POLL_MS = 0.05;

const port = parentPort;
if (port === null) throw new Error('pool-worker must run in a worker thread');
const data = workerData as PoolWorkerData;
const cancelFlags = new Int32Array(data.cancelFlags);
const channel = new ThreadChannel(data.channel, 'thread', data.bulkPort);
const executor = new InThreadExecutor(data.provider);
executor.provider.onParkedChange = (count) => channel.reportParked(count);
const runs = new Map<number, SandboxRun>();
let outgoing: WorkerEventsMessage = [];
let flushScheduled = false;
/** Tool calls went out in the last frames: an answer is likely soon. */
let awaitingAnswers = false;
let idleScheduled = false;
let asyncWaitArmed = false;
const answerPolls = new PollPolicy();

function post(message: WorkerToPoolMessage): void {
  port?.postMessage(message);
}

function flush(): void {
  flushScheduled = false;
  if (outgoing.length === 0) return;
  const sending = outgoing;
  outgoing = [];
  channel.send(sending);
}

// Events travel as JSON text: whatever their shape (limited to MAX_JSON_DEPTH levels by the run),
// text cannot fail to arrive.
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
  for (let index = 0; index < events.length; index++) {
    if ((events[index] as RuntimeEvent).type === 'tool_call') {
      awaitingAnswers = true;
      break;
    }
  }
  outgoing.push(key, text);
  if (!flushScheduled) {
    flushScheduled = true;
    queueMicrotask(() => {
      if (flushScheduled) flush();
    });
  }
  scheduleIdle();
}

// A busy guest's interrupt polls may end other sessions (deadline, cancel): send those at once.
executor.setHousekeepingListener(() => {
  if (outgoing.length > 0) flush();
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

function handle(commands: PoolToWorkerMessage): void {
  const touched = new Set<SandboxRun>();
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
    // The frame is handled; what it produced leaves now (the pool sees the acknowledgement first,
    // so a session's last events never arrive from a thread that still looks busy).
    channel.acknowledge();
    flush();
  }
}

/** Handles every frame the pool has written. */
function receiveAll(): void {
  let frame = channel.receive();
  while (frame !== undefined) {
    handle(frame as PoolToWorkerMessage);
    frame = channel.receive();
  }
}

function scheduleIdle(): void {
  if (idleScheduled) return;
  idleScheduled = true;
  setImmediate(idle);
}

/**
 * Runs once the event loop has done its other work (timers, the next sandboxes' preparation): waits
 * for the pool's next frame, in `Atomics.wait` while answers are expected soon, else in the event loop.
 */
function idle(): void {
  idleScheduled = false;
  receiveAll();
  // Answer after answer is taken here, without a turn of the event loop in between, for at most
  // ANSWER_WINDOW_MS; then the event loop runs (timers, the next sandboxes) before the thread waits
  // again. Nothing this loop does leaves work for the event loop, except preparing sandboxes, which
  // ends it.
  const windowEnd = performance.now() + ANSWER_WINDOW_MS;
  while (awaitingAnswers && runs.size > 0 && !executor.provider.hasPendingWork) {
    const left = windowEnd - performance.now();
    if (left <= 0) {
      scheduleIdle();
      return;
    }
    if (answerPolls.shouldPoll()) {
      const found = channel.poll(Math.min(ANSWER_POLL_MS, left));
      answerPolls.record(found);
      if (found) {
        receiveAll();
        continue;
      }
      if (performance.now() >= windowEnd) continue;
    }
    if (!channel.waitSync(windowEnd - performance.now())) {
      awaitingAnswers = false;
      break;
    }
    receiveAll();
  }
  armAsyncWait();
}

function armAsyncWait(): void {
  if (asyncWaitArmed) return;
  asyncWaitArmed = true;
  void channel.waitAsync().then(() => {
    asyncWaitArmed = false;
    receiveAll();
    scheduleIdle();
  });
}

// Keeps the thread's event loop alive while it waits on the channel.
port.on('message', () => undefined);

port.on('messageerror', () => {
  post([WorkerMessageKind.lost]);
});

armAsyncWait();

void executor.prewarm().then(
  () => post([WorkerMessageKind.ready]),
  () => post([WorkerMessageKind.ready]),
);
