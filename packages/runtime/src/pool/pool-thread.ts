import { performance } from 'node:perf_hooks';
import { MessageChannel, type ResourceLimits, Worker } from 'node:worker_threads';
import type { RuntimeEvent } from '@enclave-vm/types';
import type { SandboxProviderOptions } from '../sandbox/sandbox-provider.js';
import { PollPolicy } from './poll-policy.js';
import {
  PoolCommandKind,
  type PoolToWorkerMessage,
  type PoolWorkerData,
  type WorkerEventsMessage,
  WorkerMessageKind,
  type WorkerToPoolMessage,
} from './pool-messages.js';
import type { PoolSession, PoolSessionHost } from './pool-session.js';
import { createChannelMemory, ThreadChannel } from './thread-channel.js';
import type { PoolWorkerScript } from './worker-script.js';

/**
 * How long the pool polls for the thread's next frame after it sent tool answers: a guest that
 * calls tools in a loop makes its next call within it, and the pool then learns of it without
 * being woken (which costs the thread ~20 µs of CPU per wake-up on a virtual machine). The event
 * loop is held for at most this long, and only while such polls keep finding their frame.
 */
const ANSWER_POLL_MS = 0.03;

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
}

/** What an execute command carries (the spec, its context already JSON text). */
export interface PoolExecute {
  key: number;
  slot: number;
  sessionId: string;
  code: string;
  limitsJson: string;
  contextJson: string;
  isolationKey: string | undefined;
  /** When the session was requested, in ms since the epoch. */
  requestedAt: number;
}

/**
 * The main-thread side of one worker thread: starts it, sends it one frame per tick with every
 * command of that tick (executes, tool results, cancels) over their shared-memory channel, routes
 * its event batches to the sessions as they arrive (woken by `Atomics.waitAsync`, never blocking),
 * and reads how many frames it has handled so the pool can tell a busy thread from an idle one.
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
  private readonly channel: ThreadChannel;
  private readonly cancelFlags: Int32Array;
  private readonly freeSlots: number[] = [];
  private readonly onLost: (thread: PoolThread, reason: string) => void;
  private handled = 0;
  private readonly sendTimes: number[] = [];
  private sendTimesHead = 0;
  private commands: PoolToWorkerMessage = [];
  private flushScheduled = false;
  /** The commands queued since the last flush answer tool calls. */
  private answersQueued = false;
  private readonly answerPolls = new PollPolicy();
  private asyncWaitArmed = false;
  private drainScheduled = false;
  private markReady!: () => void;

  /** Starts the worker thread. */
  constructor(options: PoolThreadOptions) {
    this.index = options.index;
    this.onLost = options.onLost;
    const flags = new SharedArrayBuffer(4 * options.capacity);
    this.cancelFlags = new Int32Array(flags);
    for (let slot = options.capacity - 1; slot >= 0; slot--) this.freeSlots.push(slot);
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
    const memory = createChannelMemory();
    const bulk = new MessageChannel();
    this.channel = new ThreadChannel(memory, 'pool', bulk.port1);
    const workerData: PoolWorkerData = {
      cancelFlags: flags,
      channel: memory,
      bulkPort: bulk.port2,
      provider: options.provider,
    };
    // The worker inherits the process's flags except `--input-type`, which Node refuses for a
    // worker started from a file (it is set when the host itself runs from `node -e`).
    const execArgv = process.execArgv.filter((flag) => !flag.startsWith('--input-type'));
    const workerOptions = {
      workerData,
      transferList: [bulk.port2],
      resourceLimits: options.resourceLimits,
      execArgv,
    };
    this.worker =
      options.script.kind === 'file'
        ? new Worker(options.script.url, workerOptions)
        : new Worker(options.script.code, { ...workerOptions, eval: true });
    this.worker.on('message', (message: WorkerToPoolMessage) => this.receive(message));
    // Messages are strings and numbers only; should one still fail to arrive, its sessions could
    // not be trusted to end: the thread is treated as lost.
    this.worker.on('messageerror', (error) =>
      this.lose(`A message of the sandbox thread was lost: ${error.message}`),
    );
    this.worker.on('error', (error) => this.lose(`The sandbox thread failed: ${error.message}`));
    this.worker.on('exit', (code) => this.lose(`The sandbox thread exited with code ${code}`));
    this.listen();
  }

  /** Sessions running on the thread. */
  get load(): number {
    return this.sessions.size;
  }

  /** Whether the thread has free session slots. */
  get hasCapacity(): boolean {
    return this.freeSlots.length > 0;
  }

  /** Sessions the thread holds parked right now. */
  get parkedSessions(): number {
    return this.channel.parkedOnThread;
  }

  /** Frames sent and not yet handled by the thread. */
  get unacknowledged(): number {
    this.acknowledge(this.channel.handledByThread);
    return this.channel.sentCount - this.handled;
  }

  /** Whether the thread has left a frame unhandled for longer than `thresholdMs` (a guest keeps it busy). */
  isBusy(now: number, thresholdMs: number): boolean {
    if (this.unacknowledged === 0) return false;
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
   * Queues the start of a session. Everything queued in one tick goes in one message, in order
   * (see {@link PoolToWorkerMessage}).
   */
  sendExecute(command: PoolExecute): void {
    this.commands.push(
      PoolCommandKind.execute,
      command.key,
      command.slot,
      command.sessionId,
      command.code,
      command.limitsJson,
      command.contextJson,
      command.isolationKey ?? '',
      command.requestedAt,
    );
    this.scheduleFlush();
  }

  /** See {@link PoolSessionHost.queueResult}. */
  queueResult(key: number, callId: string, encodedOutcome: string): void {
    this.commands.push(PoolCommandKind.result, key, callId, encodedOutcome);
    this.answersQueued = true;
    this.scheduleFlush();
  }

  /** See {@link PoolSessionHost.requestCancel}. */
  requestCancel(key: number, slot: number, reason: string | undefined): void {
    // The flag reaches a thread busy in a guest (its interrupt polls read it); the message an idle one.
    Atomics.store(this.cancelFlags, slot, 1);
    if (!this.alive) return;
    this.commands.push(PoolCommandKind.cancel, key, reason ?? '');
    this.scheduleFlush();
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
    this.channel.wakeSelf();
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
    this.sendTimes.push(performance.now());
    this.channel.send(commands);
    if (!this.answersQueued) return;
    this.answersQueued = false;
    if (!this.answerPolls.shouldPoll()) return;
    const found = this.channel.poll(ANSWER_POLL_MS);
    this.answerPolls.record(found);
    // Taken in the event loop's next turn, not here: a guest calling tools in a loop would otherwise
    // keep the pool in one chain of microtasks, and timers and I/O would wait for the whole loop.
    if (found) this.scheduleDrain();
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(this.drainNow);
  }

  private readonly drainNow = (): void => {
    this.drainScheduled = false;
    this.listen();
  };

  private receive(message: WorkerToPoolMessage): void {
    if (!this.alive) return;
    const kind = message[0];
    if (kind === WorkerMessageKind.ready) {
      this.started = true;
      this.markReady();
      return;
    }
    if (kind === WorkerMessageKind.lost) {
      this.lose('The sandbox thread could not read a message of the pool');
    }
  }

  /**
   * Takes the thread's event frames as they arrive, for as long as the thread is alive: those
   * waiting now, then those that wake it through `Atomics.waitAsync` (one wait armed at a time).
   */
  private listen(): void {
    if (!this.alive) return;
    try {
      let frame = this.channel.receive();
      while (frame !== undefined && this.alive) {
        this.dispatch(frame);
        frame = this.channel.receive();
      }
    } catch (error) {
      this.lose(`The sandbox thread's channel failed: ${(error as Error).message}`);
      return;
    }
    if (this.asyncWaitArmed) return;
    this.asyncWaitArmed = true;
    void this.channel.waitAsync().then(this.listenAgain);
  }

  private readonly listenAgain = (): void => {
    this.asyncWaitArmed = false;
    this.listen();
  };

  private dispatch(frame: WorkerEventsMessage): void {
    for (let index = 0; index + 1 < frame.length; index += 2) {
      const session = this.sessions.get(frame[index] as number);
      if (session !== undefined) session.dispatch(JSON.parse(frame[index + 1] as string) as RuntimeEvent[]);
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
    this.channel.wakeSelf();
    this.onLost(this, reason);
  }
}
