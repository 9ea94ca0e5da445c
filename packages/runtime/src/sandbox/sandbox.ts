import { randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten-core';
import { EngineCalls } from './engine-calls.js';
import type { EngineInstance, InstanceOwner } from './engine-instance.js';

/** The session realm's pristine intrinsics, taken before any user code runs. */
const INTRINSICS_SOURCE =
  '[globalThis, Promise, Error, JSON.parse, Promise.prototype.then, Object.getPrototypeOf(async function () {}).constructor]';

/** Random words from the host's cryptographic source, drawn a page at a time (one call costs tens of µs). */
const seeds = new Int32Array(1024);
let seedsUsed = seeds.length;

/** Four fresh 32-bit words of the host's cryptographic source, to seed one session's `Math.random`. */
function nextSeed(): Int32Array {
  if (seedsUsed + 4 > seeds.length) {
    randomFillSync(seeds);
    seedsUsed = 0;
  }
  seedsUsed += 4;
  return seeds.subarray(seedsUsed - 4, seedsUsed);
}

/** What a run needs to start in a sandbox. Numbers are the session's limits. */
export interface SandboxStart {
  /** The user code (body of an async function). */
  code: string;
  /** JSON text of the `context` global. */
  contextJson: string;
  /** Tool calls allowed. */
  maxToolCalls: number;
  /** Bytes allowed for one call's JSON arguments. */
  maxToolArgsBytes: number;
  /** Console output allowed: the guest stops near this many UTF-16 units; the host counts bytes. */
  maxStdoutBytes: number;
  /** Guest stack size in bytes. */
  maxStackSize: number;
}

/** How the user code ended, as the guest reported it. */
export type GuestOutcome =
  /** The code returned; `json` is the JSON text of the result, `undefined` for no result. */
  | { kind: 'returned'; json: string | undefined }
  /** The code returned something JSON cannot represent. */
  | { kind: 'not-serializable'; message: string }
  /** The code threw (or its promise rejected), or it does not compile (`syntax`). */
  | {
      kind: 'threw';
      syntax: boolean;
      name: string;
      message: string;
      code?: string;
      stack?: string;
      line?: number;
    };

/** Why a guest turn ended abnormally. */
export type GuestFailure =
  /** The engine threw out of the bridge (an interrupt, out of memory, a stack overflow). */
  | { kind: 'exception'; name: string; message: string }
  /** The host side of the engine failed (a host stack overflow, a WebAssembly trap): the instance is unusable. */
  | { kind: 'host'; error: unknown };

/** What one entry into the guest produced. */
export interface GuestTurn {
  /** The drained outbox: comma-separated JSON entries (see the bridge), or `''`. */
  outbox: string;
  /** Set when the user code ended during this turn. */
  outcome?: GuestOutcome;
  /** Set when the turn ended abnormally. */
  failure?: GuestFailure;
}

/** The addresses of a prepared sandbox's context and bridge, recorded in the engine template. */
export interface SandboxPointers {
  context: number;
  begin: number;
  deliver: number;
  drain: number;
  onFulfilled: number;
  onRejected: number;
  notCompiled: number;
  promiseThen: number;
}

interface Bridge {
  begin: QuickJSHandle;
  deliver: QuickJSHandle;
  drain: QuickJSHandle;
  onFulfilled: QuickJSHandle;
  onRejected: QuickJSHandle;
  /** What `begin` returns for code that does not compile. */
  notCompiled: QuickJSHandle;
  promiseThen: QuickJSHandle;
}

/**
 * One session's QuickJS context (its own realm, with its bridge) in the runtime of an
 * {@link EngineInstance}. Created ahead of time (warm), used by exactly one session, then disposed.
 */
export class Sandbox {
  /** The engine instance the sandbox lives in. */
  readonly instance: EngineInstance;
  /** Milliseconds spent executing guest code (the session's CPU time). */
  guestTimeMs = 0;
  /** True after a host-level failure: the instance must be dropped without calling into it. */
  poisoned = false;
  private readonly context: QuickJSContext;
  private readonly bridge: Bridge;
  private readonly calls: EngineCalls;
  private readonly ownerRecord: InstanceOwner;
  private hostFailure: unknown;
  private enteredAt: number | undefined;
  private suppressInterrupt = false;
  private disposed = false;
  private interruptCheck: (() => boolean) | undefined;
  private stopListener: ((code: string) => void) | undefined;
  private readonly pollInterrupt = (): boolean =>
    !this.suppressInterrupt && (this.poisoned || (this.interruptCheck?.() ?? false));

  /**
   * Creates the session's context, takes its pristine intrinsics and builds its bridge with the
   * shared realm's factory, which also hardens the realm with the guards. Or, with `adopt`, wraps
   * the context and bridge a copy of the engine template's memory already holds.
   */
  constructor(instance: EngineInstance, adopt?: SandboxPointers) {
    this.instance = instance;
    instance.setInterruptCheck(undefined);
    this.ownerRecord = {
      onStop: (code) => this.stopListener?.(code),
      onHostFailure: (error) => {
        this.poisoned = true;
        this.hostFailure ??= error;
      },
    };
    instance.owner = this.ownerRecord;
    if (adopt !== undefined) {
      const context = instance.runtime.newContext({ contextPointer: adopt.context as never });
      this.context = context;
      instance.addContext(adopt.context);
      const handle = (pointer: number) =>
        (
          context as unknown as { memory: { heapValueHandle(pointer: number): QuickJSHandle } }
        ).memory.heapValueHandle(pointer);
      this.bridge = {
        begin: handle(adopt.begin),
        deliver: handle(adopt.deliver),
        drain: handle(adopt.drain),
        onFulfilled: handle(adopt.onFulfilled),
        onRejected: handle(adopt.onRejected),
        notCompiled: handle(adopt.notCompiled),
        promiseThen: handle(adopt.promiseThen),
      };
      this.calls = new EngineCalls(instance, context);
      return;
    }
    const context = instance.runtime.newContext();
    this.context = context;
    instance.addContext((context as unknown as { ctx: { value: number } }).ctx.value);
    const intrinsics = context.unwrapResult(
      context.evalCode(INTRINSICS_SOURCE, 'enclave:intrinsics', { type: 'global' }),
    );
    const bridge = instance.createBridge(intrinsics);
    this.bridge = {
      begin: context.getProp(bridge, 0),
      deliver: context.getProp(bridge, 1),
      drain: context.getProp(bridge, 2),
      onFulfilled: context.getProp(bridge, 3),
      onRejected: context.getProp(bridge, 4),
      notCompiled: context.getProp(bridge, 5),
      promiseThen: context.getProp(intrinsics, 4),
    };
    bridge.dispose();
    intrinsics.dispose();
    this.calls = new EngineCalls(instance, context);
  }

  /** The addresses of this sandbox's context and bridge (for the engine template's clones). */
  pointers(): SandboxPointers {
    const bridge = this.bridge;
    return {
      context: (this.context as unknown as { ctx: { value: number } }).ctx.value,
      begin: bridge.begin.value as number,
      deliver: bridge.deliver.value as number,
      drain: bridge.drain.value as number,
      onFulfilled: bridge.onFulfilled.value as number,
      onRejected: bridge.onRejected.value as number,
      notCompiled: bridge.notCompiled.value as number,
      promiseThen: bridge.promiseThen.value as number,
    };
  }

  /** Guest CPU time including the turn in progress, in ms. */
  cpuTimeMs(now: number = performance.now()): number {
    return this.enteredAt === undefined ? this.guestTimeMs : this.guestTimeMs + (now - this.enteredAt);
  }

  /** Whether guest code is executing right now (a turn is in progress). */
  get inGuest(): boolean {
    return this.enteredAt !== undefined;
  }

  /**
   * Sets the check QuickJS polls while this session's guest code runs (every few thousand
   * operations); returning true interrupts the guest with an uncatchable error.
   */
  setInterruptCheck(check: () => boolean): void {
    this.interruptCheck = check;
  }

  /** Sets the listener of the guest's `stop(code)` native (the output limit was reached). */
  setStopListener(listener: (code: string) => void): void {
    this.stopListener = listener;
  }

  /** Whether the runtime still has queued jobs (after an interrupted turn): then it must not be reused. */
  hasPendingJobs(): boolean {
    if (this.poisoned) return true;
    try {
      return this.instance.runtime.hasPendingJob();
    } catch {
      return true;
    }
  }

  /**
   * Starts the run: the bridge's `begin` sets the limits, defines the frozen `context` and compiles
   * the code as the body of an async function, which is then called from the host (so that its
   * promise and its stack belong to the session realm alone) with the bridge's settle callbacks
   * attached; then every job it queued runs.
   */
  start(settings: SandboxStart): GuestTurn {
    const context = this.context;
    const bridge = this.bridge;
    this.instance.runtime.setMaxStackSize(settings.maxStackSize);
    this.instance.largestStackSize = Math.max(this.instance.largestStackSize, settings.maxStackSize);
    return this.turn(() => {
      const seed = nextSeed();
      const parameters = [
        context.newNumber(settings.maxToolCalls),
        context.newNumber(settings.maxToolArgsBytes),
        context.newNumber(settings.maxStdoutBytes),
        context.newString(settings.contextJson),
        context.newString(settings.code),
        context.newNumber(seed[0] as number),
        context.newNumber(seed[1] as number),
        context.newNumber(seed[2] as number),
        context.newNumber(seed[3] as number),
      ];
      const compiled = context.callFunction(bridge.begin, context.undefined, parameters);
      for (const handle of parameters) handle.dispose();
      if (compiled.error) return compiled.error;
      // The code does not compile: the bridge has recorded the outcome and returned its marker
      // object (the pristine AsyncFunction constructor only ever returns a function).
      if (context.typeof(compiled.value) !== 'function') {
        compiled.value.dispose();
        return undefined;
      }
      const promise = context.callFunction(compiled.value, context.undefined);
      compiled.value.dispose();
      if (promise.error) return promise.error;
      const attached = context.callFunction(
        bridge.promiseThen,
        promise.value,
        bridge.onFulfilled,
        bridge.onRejected,
      );
      promise.value.dispose();
      if (attached.error) return attached.error;
      attached.value.dispose();
      return undefined;
    });
  }

  /** Hands tool results to the guest: JSON `[[id, 1, result?] | [id, 0, code, message, details?], ...]`. */
  deliver(batchJson: string): GuestTurn {
    return this.turn(() => this.calls.callWithString(this.bridge.deliver, batchJson));
  }

  /**
   * Leaves the sandbox without calling into the engine, for an instance that is dropped whole (its
   * session was parked): nothing of it is freed one by one.
   */
  abandon(): void {
    this.disposed = true;
    this.interruptCheck = undefined;
    this.stopListener = undefined;
    if (this.instance.owner === this.ownerRecord) this.instance.owner = undefined;
  }

  /** Frees the context; a poisoned sandbox is dropped without calling into the engine. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.interruptCheck = undefined;
    this.stopListener = undefined;
    if (this.instance.owner === this.ownerRecord) this.instance.owner = undefined;
    this.instance.removeContext((this.context as unknown as { ctx: { value: number } }).ctx.value);
    if (this.poisoned) return;
    try {
      for (const handle of Object.values(this.bridge)) handle.dispose();
      this.context.dispose();
    } catch {
      this.poisoned = true;
    }
  }

  private turn(enter: () => QuickJSHandle | undefined): GuestTurn {
    const started = performance.now();
    this.enteredAt = started;
    this.instance.setInterruptCheck(this.pollInterrupt);
    this.instance.pacePolls();
    let failure: GuestFailure | undefined;
    try {
      const error = enter();
      if (error !== undefined) {
        failure = this.describe(error);
        error.dispose();
      } else {
        const jobError = this.calls.executePendingJobs();
        if (jobError !== undefined) {
          failure = this.describe(jobError);
          jobError.dispose();
        }
      }
    } catch (error) {
      this.poisoned = true;
      this.hostFailure ??= error;
    } finally {
      this.guestTimeMs += performance.now() - started;
      this.enteredAt = undefined;
    }
    if (this.poisoned)
      return { outbox: '', outcome: undefined, failure: { kind: 'host', error: this.hostFailure } };
    const drained = this.drain();
    const cut = drained.indexOf('\n');
    if (cut < 0) return { outbox: drained, outcome: undefined, failure };
    return { outbox: drained.slice(0, cut), outcome: parseOutcome(drained.slice(cut + 1)), failure };
  }

  private drain(): string {
    this.suppressInterrupt = true;
    try {
      return this.calls.callForString(this.bridge.drain) ?? '';
    } catch (error) {
      this.poisoned = true;
      this.hostFailure ??= error;
      return '';
    } finally {
      this.suppressInterrupt = false;
    }
  }

  // The interrupt handler stays on: describing a thrown value may run user code (proxy traps, an
  // inspect of a non-error value), which the session's limits must still stop.
  private describe(errorHandle: QuickJSHandle): GuestFailure {
    const thrown = parseThrown(this.instance.callHelper('describeThrown', errorHandle));
    return { kind: 'exception', name: thrown.name, message: thrown.message };
  }
}

interface ThrownDescription {
  name: string;
  message: string;
  code?: string;
  stack?: string;
  line?: number;
}

/** Reads the bridge's outcome record (see `guest/bridge.js`). */
function parseOutcome(record: string): GuestOutcome {
  const kind = record.charAt(0);
  if (kind === 'J') return { kind: 'returned', json: record.slice(1) };
  if (kind === 'U') return { kind: 'returned', json: undefined };
  if (kind === 'E') return { kind: 'not-serializable', message: record.slice(1) };
  const thrown = parseThrown(record.slice(1));
  return { kind: 'threw', syntax: kind === 'S' && thrown.name === 'SyntaxError', ...thrown };
}

function parseThrown(json: string | undefined): ThrownDescription {
  if (json === undefined) return { name: 'Error', message: 'Uncaught exception' };
  try {
    const parsed = JSON.parse(json) as Partial<ThrownDescription>;
    const description: ThrownDescription = {
      name: typeof parsed.name === 'string' ? parsed.name : 'Error',
      message: typeof parsed.message === 'string' ? parsed.message : '',
    };
    if (typeof parsed.code === 'string') description.code = parsed.code;
    if (typeof parsed.stack === 'string' && parsed.stack !== '') description.stack = parsed.stack;
    if (typeof parsed.line === 'number') description.line = parsed.line;
    return description;
  } catch {
    return { name: 'Error', message: 'Uncaught exception' };
  }
}
