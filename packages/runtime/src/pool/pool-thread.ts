import { performance } from 'node:perf_hooks';
import { type ResourceLimits, Worker } from 'node:worker_threads';
import type { ToolOutcome } from '../executor/execution-types.js';
import type { SandboxProviderOptions } from '../sandbox/sandbox-provider.js';
import type {
  PoolCommand,
  PoolToWorkerMessage,
  PoolWorkerData,
  WorkerToPoolMessage,
} from './pool-messages.js';
import type { PoolSession, PoolSessionHost } from './pool-session.js';
import type { PoolWorkerScript } from './worker-script.js';

/** Options of one {@link PoolThread}. */
export interface PoolThreadOptions {
  /** Position of the thread in the pool. */
  index: number;
  /** Sessions the thread may run at once (its number of cancel slots). */
  capacity: number;
  /** How to start the worker. */
  script: PoolWorkerScript;
  /** Options of the thread's sandbox provider. */
  provider: SandboxProviderOptions;
  /** Resource limits of the worker thread. */
  resourceLimits: ResourceLimits | undefined;
  /** Called when the worker exits or fails without the pool asking for it. */
  onLost: (thread: PoolThread, reason: string) => void;
  /** Called for an execute command whose spec the structured clone refused. */
  onRefused: (thread: PoolThread, key: number, error: unknown) => void;
}

/**
 * The main-thread side of one worker thread: starts it, sends it one message per tick with every
 * command of that tick (executes, tool results, cancels), routes its event batches to the
 * sessions, and tracks acknowledgements so the pool can tell a busy thread from an idle one.
 */
export class PoolThread implements PoolSessionHost {
  /** Position of the thread in the pool. */
  readonly index: number;
  /** Sessions running on the thread, by key. */
  readonly sessions = new Map<number, PoolSession>();
  /** Resolves when the thread has started and its warm sandboxes are ready (or it was lost). */
  readonly ready: Promise<void>;
  /** False once the thread was lost or terminated: its messages are ignored. */
  alive = true;
  /** Whether the thread reported ready (a thread lost before that failed to start). */
  started = false;
  /** When the pool last gave the thread a session (it may still be preparing its next sandbox). */
  lastAssignedAt = 0;
  private readonly worker: Worker;
  private readonly cancelFlags: Int32Array;
  private readonly freeSlots: number[] = [];
  private readonly onLost: (thread: PoolThread, reason: string) => void;
  private sent = 0;
  private handled = 0;
  private readonly sendTimes: number[] = [];
  private sendTimesHead = 0;
  private commands: PoolCommand[] = [];
  private flushScheduled = false;
  private readonly onRefused: (thread: PoolThread, key: number, error: unknown) => void;
  private markReady!: () => void;

  /** Starts the worker thread. */
  constructor(options: PoolThreadOptions) {
    this.index = options.index;
    this.onLost = options.onLost;
    this.onRefused = options.onRefused;
    const flags = new SharedArrayBuffer(4 * options.capacity);
    this.cancelFlags = new Int32Array(flags);
    for (let slot = options.capacity - 1; slot >= 0; slot--) this.freeSlots.push(slot);
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
    const workerData: PoolWorkerData = { cancelFlags: flags, provider: options.provider };
    // The worker inherits the process's flags except `--input-type`, which Node refuses for a
    // worker started from a file (it is set when the host itself runs from `node -e`).
    const execArgv = process.execArgv.filter((flag) => !flag.startsWith('--input-type'));
    const workerOptions = { workerData, resourceLimits: options.resourceLimits, execArgv };
    this.worker =
      options.script.kind === 'file'
        ? new Worker(options.script.url, workerOptions)
        : new Worker(options.script.code, { ...workerOptions, eval: true });
    this.worker.on('message', (message: WorkerToPoolMessage) => this.receive(message));
    this.worker.on('error', (error) => this.lose(`The sandbox thread failed: ${error.message}`));
    this.worker.on('exit', (code) => this.lose(`The sandbox thread exited with code ${code}`));
  }

  /** Sessions running on the thread. */
  get load(): number {
    return this.sessions.size;
  }

  /** Whether the thread has free session slots. */
  get hasCapacity(): boolean {
    return this.freeSlots.length > 0;
  }

  /** Messages sent and not yet acknowledged. */
  get unacknowledged(): number {
    return this.sent - this.handled;
  }

  /** Whether the thread has left a message unacknowledged for longer than `thresholdMs` (a guest keeps it busy). */
  isBusy(now: number, thresholdMs: number): boolean {
    if (this.sent === this.handled) return false;
    return now - (this.sendTimes[this.sendTimesHead] ?? now) > thresholdMs;
  }

  /** Takes a free cancel slot for a new session (check {@link hasCapacity} first). */
  takeSlot(): number {
    return this.freeSlots.pop() as number;
  }

  /** Returns a slot whose session could not be started. */
  returnSlot(slot: number): void {
    Atomics.store(this.cancelFlags, slot, 0);
    this.freeSlots.push(slot);
  }

  /**
   * Queues a command for the worker. Everything queued in one tick goes in one message, in order
   * (see {@link PoolToWorkerMessage}).
   */
  send(command: PoolCommand): void {
    this.commands.push(command);
    this.scheduleFlush();
  }

  /** See {@link PoolSessionHost.queueResult}. */
  queueResult(key: number, callId: string, outcome: ToolOutcome): void {
    const last = this.commands[this.commands.length - 1];
    if (last?.type === 'results') last.results.push(key, callId, outcome);
    else this.commands.push({ type: 'results', results: [key, callId, outcome] });
    this.scheduleFlush();
  }

  /** See {@link PoolSessionHost.requestCancel}. */
  requestCancel(key: number, slot: number, reason: string | undefined): void {
    // The flag reaches a thread busy in a guest (its interrupt polls read it); the message an idle one.
    Atomics.store(this.cancelFlags, slot, 1);
    if (this.alive) this.send({ type: 'cancel', key, reason });
  }

  /** See {@link PoolSessionHost.onEnded}. */
  onEnded(session: PoolSession): void {
    if (this.sessions.get(session.key) === session) {
      this.sessions.delete(session.key);
      this.returnSlot(session.slot);
    }
  }

  /** Stops the worker; its messages are ignored from now on. */
  async terminate(): Promise<void> {
    this.alive = false;
    this.markReady();
    await this.worker.terminate();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (!this.alive || this.commands.length === 0) return;
    const commands = this.commands;
    this.commands = [];
    try {
      this.post(commands);
    } catch {
      // Something the structured clone cannot copy (a function in a context or a tool result):
      // send the commands one by one, results in their JSON form (as the guest would see them
      // anyway), and refuse an execute whose spec cannot travel.
      for (const command of commands) {
        if (command.type === 'results') {
          for (let index = 2; index < command.results.length; index += 3) {
            command.results[index] = toJsonForm(command.results[index] as ToolOutcome);
          }
        }
        try {
          this.post([command]);
        } catch (error) {
          if (command.type === 'execute') this.onRefused(this, command.key, error);
        }
      }
    }
  }

  private post(message: PoolToWorkerMessage): void {
    this.worker.postMessage(message);
    this.sent += 1;
    this.sendTimes.push(performance.now());
  }

  private receive(message: WorkerToPoolMessage): void {
    if (!this.alive) return;
    if (message.type === 'ready') {
      this.started = true;
      this.markReady();
      return;
    }
    this.acknowledge(message.handled);
    const batches = message.batches;
    for (let index = 0; index + 1 < batches.length; index += 2) {
      this.sessions.get(batches[index] as number)?.dispatch(batches[index + 1] as never);
    }
  }

  private acknowledge(handled: number): void {
    const newly = handled - this.handled;
    if (newly <= 0) return;
    this.handled = handled;
    this.sendTimesHead += newly;
    if (this.sendTimesHead > 1024) {
      this.sendTimes.splice(0, this.sendTimesHead);
      this.sendTimesHead = 0;
    }
  }

  private lose(reason: string): void {
    if (!this.alive) return;
    this.alive = false;
    this.markReady();
    this.onLost(this, reason);
  }
}

function toJsonForm(outcome: ToolOutcome): ToolOutcome {
  try {
    const json = JSON.stringify(outcome);
    return json === undefined ? { ok: true, result: undefined } : (JSON.parse(json) as ToolOutcome);
  } catch (error) {
    return {
      ok: false,
      error: {
        code: 'TOOL_ERROR',
        message: `The tool result is not JSON-serializable: ${(error as Error).message}`,
      },
    };
  }
}
