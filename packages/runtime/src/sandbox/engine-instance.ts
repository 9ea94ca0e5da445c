import {
  Lifetime,
  type QuickJSContext,
  type QuickJSHandle,
  QuickJSRuntime,
  type QuickJSWASMModule,
} from 'quickjs-emscripten-core';
import { loadQuickJSModule } from './engine-loader.js';
import { readGuestSource } from './guest-source.js';
import { INTERRUPT_COUNTER_START, type MemoryLayout, MINIMUM_INSTANCE_BYTES } from './memory-layout.js';
import { MemorySlot } from './memory-slot.js';

export { MINIMUM_INSTANCE_BYTES, WASM_PAGE_BYTES } from './memory-layout.js';

/**
 * How many failed growth attempts in a row mean an allocation really failed. Emscripten's heap
 * resize tries three sizes (20 %, 10 % and 5 % over the request) before it gives up and `malloc`
 * returns null; a single refused attempt is normal when the memory is close to its limit.
 */
const FAILED_GROWTHS_PER_ALLOCATION = 3;

/** Nested console formatting (an inspect hook that logs) deeper than this prints a placeholder. */
const MAXIMUM_FORMAT_NESTING = 4;

/**
 * Poll pacing. QuickJS calls the interrupt handler every 10,000 ticks (calls and loop iterations),
 * never inside a built-in, so a loop of heavy built-ins (slicing a 16 MB string takes about 17 ms)
 * would run 10,000 of them between two checks of the session's limits. One built-in touches at most
 * about the data the session holds, at about 1 ns a byte: the handler sets the next check after
 * POLL_BUDGET_BYTES / (bytes the heap grew past the template) ticks, between MINIMUM_POLL_TICKS and
 * 10,000, so that the time between two checks stays under about half a second. A check costs
 * about 0.1 µs; sessions holding little data keep the 10,000.
 */
const POLL_BUDGET_BYTES = 500_000_000;
const MINIMUM_POLL_TICKS = 16;

/** What poll pacing reads and writes in an instance's memory. */
export interface PollPacing {
  /** The build's layout (where the heap break and the interrupt counters are). */
  readonly layout: MemoryLayout;
  /** The heap break the instance started with: growth past it is the session's data. */
  readonly baseline: number;
}

/** Functions of the shared realm the host calls with one value of a session realm. */
export type SharedRealmHelper = 'formatArguments' | 'deepFreeze' | 'describeThrown' | 'serializeResult';

const HELPERS: readonly SharedRealmHelper[] = [
  'formatArguments',
  'deepFreeze',
  'describeThrown',
  'serializeResult',
];

/** The natives of the shared realm, in the order they are registered (their host-reference ids follow it). */
const NATIVES = ['stop', 'format'] as const;
type NativeName = (typeof NATIVES)[number];

/** What the instance's natives report to the session that owns the instance. */
export interface InstanceOwner {
  /** The guest asked to stop (`STDOUT_LIMIT_EXCEEDED`). */
  onStop(code: string): void;
  /** A native failed on the host side: the instance may be inconsistent. */
  onHostFailure(error: unknown): void;
}

/**
 * The addresses of an instance's long-lived values (runtime, shared realm, its helpers and
 * natives), recorded from the engine template: a clone's memory is a copy of the template's, so
 * the same addresses hold the same values there.
 */
export interface EnginePointers {
  runtime: number;
  sharedContext: number;
  helpers: Record<SharedRealmHelper, number>;
  helpersObject: number;
  createBridge: number;
  guards: number;
  natives: Record<NativeName, number>;
  nativeIds: Record<NativeName, number>;
  frozenObjects: number;
}

/**
 * One instantiation of the QuickJS WebAssembly module with its own memory and one QuickJS runtime.
 * The runtime holds the shared realm (a context with the console formatter, the session helpers,
 * the guards and the bridge factory, hardened, then frozen by the lockdown) and the contexts of the
 * sessions it serves: one, unless a caller opted into reuse.
 *
 * An instance is set up in one of two ways: by evaluating the guest scripts (the engine template,
 * and instances of opted-in reuse), or by adopting a copy of the template's memory (every session
 * by default: see the engine template), which wraps the recorded addresses and registers the
 * natives again so that their host-reference ids match.
 *
 * The memory has a hard `maximum`; a per-session soft limit below it is enforced when the heap asks
 * to grow (the builds do not enforce `runtime.setMemoryLimit`). A memory bomb therefore fails inside
 * this instance only, as a QuickJS "out of memory" error, and marks the instance exhausted.
 */
export class EngineInstance {
  /** The QuickJS module bound to this instance's memory. */
  readonly module: QuickJSWASMModule;
  /** This instance's memory (recycled after a wipe once the instance is dropped). */
  readonly slot: MemorySlot;
  /** The QuickJS runtime every context of this instance lives in. */
  readonly runtime: QuickJSRuntime;
  /** Objects the lockdown froze in the shared realm. */
  readonly frozenObjects: number;
  /** Sessions this instance has served. */
  sessionsServed = 0;
  /** False once the instance hit trouble that may have left it inconsistent: never reuse it. */
  healthy = true;
  /** The session using the instance now (its natives report to it). */
  owner: InstanceOwner | undefined;
  /** The largest guest stack limit a session of this instance had (how much stack a wipe covers). */
  largestStackSize = 0;
  /** Bytes of the memory held by the engine template's reserved block: not the sessions' memory. */
  reservedBytes = 0;
  private softLimitBytes: number;
  private failedGrowthsInARow = 0;
  private exhausted = false;
  private readonly sharedContext: QuickJSContext;
  private readonly helpers = new Map<SharedRealmHelper, QuickJSHandle>();
  private readonly createBridgeFunction: QuickJSHandle;
  /** The guards object (`guest/guards.js`), handed to each session's bridge. */
  private readonly guards: QuickJSHandle;
  /** The formatter's helpers object (frozen), handed to each session's bridge. */
  private readonly helpersObject: QuickJSHandle;
  private readonly natives: Record<NativeName, QuickJSHandle>;
  private formatNesting = 0;
  private interruptCheck: (() => boolean) | undefined;
  private pacing: PollPacing | undefined;
  private words: Int32Array | undefined;
  private pacedBreak = -1;
  private pacedLength = -1;
  /** Ticks between two polls for the data last measured (0: QuickJS's own 10,000). */
  private pacedTicks = 0;
  /** Addresses of the instance's contexts (their interrupt counters are paced). */
  private readonly contextPointers: number[] = [];

  /** @internal Use {@link createEngineInstance}, or the engine template's clones. */
  constructor(module: QuickJSWASMModule, slot: MemorySlot, adopt?: EnginePointers) {
    this.module = module;
    this.slot = slot;
    this.softLimitBytes = slot.maximumBytes;
    slot.owner = this;
    if (adopt === undefined) {
      this.runtime = module.newRuntime();
      this.sharedContext = this.runtime.newContext();
    } else {
      const internals = module as unknown as {
        callbacks: never;
        ffi: { QTS_FreeRuntime(pointer: number): void };
      };
      this.runtime = new QuickJSRuntime({
        module: (module as unknown as { module: never }).module,
        callbacks: internals.callbacks,
        ffi: internals.ffi as never,
        rt: new Lifetime(adopt.runtime) as never,
      });
      this.sharedContext = this.runtime.newContext({ contextPointer: adopt.sharedContext as never });
    }
    // Enables QuickJS's calls to the handler; the calls themselves are then routed straight to
    // `poll`, past quickjs-emscripten's dispatch, since pacing makes them frequent.
    this.runtime.setInterruptHandler(() => this.poll());
    const callbacks = (module as unknown as { module: { callbacks: { shouldInterrupt: unknown } } }).module
      .callbacks;
    callbacks.shouldInterrupt = () => (this.poll() ? 1 : 0);
    const context = this.sharedContext;
    this.addContext((context as unknown as { ctx: Lifetime<number> }).ctx.value);
    if (adopt === undefined) {
      const evaluate = (source: string, name: string) =>
        context.unwrapResult(context.evalCode(source, name, { type: 'global', strict: true }));
      const formatter = evaluate(readGuestSource('formatter'), 'enclave:formatter');
      for (const helper of HELPERS) this.helpers.set(helper, context.getProp(formatter, helper));
      const freeze = evaluate('Object.freeze', 'enclave:freeze');
      context.unwrapResult(context.callFunction(freeze, context.undefined, formatter)).dispose();
      freeze.dispose();
      this.helpersObject = formatter;
      this.createBridgeFunction = evaluate(readGuestSource('bridge'), 'enclave:bridge');
      // The guards harden the shared realm now (before the lockdown freezes it) and each session
      // realm when its bridge is created.
      this.guards = evaluate(readGuestSource('guards'), 'enclave:guards');
      const guardRealm = context.getProp(this.guards, 'guardRealm');
      context.unwrapResult(context.callFunction(guardRealm, context.undefined, context.global)).dispose();
      guardRealm.dispose();
      const implementations = this.nativeImplementations();
      this.natives = {
        stop: context.newFunction('stop', implementations.stop),
        format: context.newFunction('format', implementations.format),
      };
      const frozen = evaluate(readGuestSource('lockdown'), 'enclave:lockdown');
      this.frozenObjects = context.getNumber(frozen);
      frozen.dispose();
    } else {
      const adoptHandle = (pointer: number) =>
        (
          context as unknown as { memory: { heapValueHandle(pointer: number): QuickJSHandle } }
        ).memory.heapValueHandle(pointer);
      for (const helper of HELPERS) this.helpers.set(helper, adoptHandle(adopt.helpers[helper]));
      this.helpersObject = adoptHandle(adopt.helpersObject);
      this.createBridgeFunction = adoptHandle(adopt.createBridge);
      this.guards = adoptHandle(adopt.guards);
      const implementations = this.nativeImplementations();
      for (const name of NATIVES) {
        const id = this.runtime.hostRefs.put(implementations[name]);
        if (id !== adopt.nativeIds[name]) throw new Error('The engine clone does not match its template');
      }
      this.natives = { stop: adoptHandle(adopt.natives.stop), format: adoptHandle(adopt.natives.format) };
      this.frozenObjects = adopt.frozenObjects;
    }
  }

  /** This instance's memory. */
  get memory(): WebAssembly.Memory {
    return this.slot.memory;
  }

  /** The most memory a session of this instance can use, in bytes (the cap less the reserved block). */
  get maximumBytes(): number {
    return this.slot.maximumBytes - this.reservedBytes;
  }

  /** Current size of the memory in bytes. */
  get byteLength(): number {
    return this.slot.byteLength;
  }

  /** Whether an allocation failed because the memory limit was reached (sticky until reset). */
  get memoryExhausted(): boolean {
    return this.exhausted;
  }

  /** Paces the interrupt handler's calls from now on (see POLL_BUDGET_BYTES). */
  enablePollPacing(pacing: PollPacing): void {
    this.pacing = pacing;
  }

  /** Registers a context of this instance whose interrupt counter is paced. */
  addContext(pointer: number): void {
    this.contextPointers.push(pointer);
  }

  /** Forgets a context about to be freed. */
  removeContext(pointer: number): void {
    const index = this.contextPointers.indexOf(pointer);
    if (index >= 0) this.contextPointers.splice(index, 1);
  }

  /** The addresses of the long-lived values, for clones of this instance (see {@link EnginePointers}). */
  pointers(): EnginePointers {
    const helpers = {} as Record<SharedRealmHelper, number>;
    for (const helper of HELPERS)
      helpers[helper] = (this.helpers.get(helper) as QuickJSHandle).value as number;
    // Natives were the runtime's first host references, registered in NATIVES order.
    const firstId = -2147483648;
    return {
      runtime: (this.runtime as unknown as { rt: Lifetime<number> }).rt.value,
      sharedContext: (this.sharedContext as unknown as { ctx: Lifetime<number> }).ctx.value,
      helpers,
      helpersObject: this.helpersObject.value as number,
      createBridge: this.createBridgeFunction.value as number,
      guards: this.guards.value as number,
      natives: { stop: this.natives.stop.value as number, format: this.natives.format.value as number },
      nativeIds: { stop: firstId, format: firstId + 1 },
      frozenObjects: this.frozenObjects,
    };
  }

  /**
   * Sets the limit the heap may grow to for the next session, and clears the exhausted flag. The
   * block the engine template reserves (never used by any session) is not counted.
   */
  setMemoryLimit(bytes: number): void {
    this.softLimitBytes = Math.min(
      Math.max(bytes, MINIMUM_INSTANCE_BYTES) + this.reservedBytes,
      this.slot.maximumBytes,
    );
    this.failedGrowthsInARow = 0;
    this.exhausted = false;
  }

  /**
   * Sets the check QuickJS polls while guest code runs (every few thousand operations); returning
   * true interrupts the guest with an uncatchable error. `undefined` removes it.
   */
  setInterruptCheck(check: (() => boolean) | undefined): void {
    this.interruptCheck = check;
  }

  /**
   * Builds a session's bridge from its realm's pristine `[globalThis, Promise, Error, JSON.parse,
   * Promise.prototype.then, AsyncFunction]` and returns the handle of `[begin, deliver, drain,
   * onFulfilled, onRejected, notCompiled]` (throws when the guest code failed).
   */
  createBridge(intrinsicsHandle: QuickJSHandle): QuickJSHandle {
    const context = this.sharedContext;
    return context.unwrapResult(
      context.callFunction(
        this.createBridgeFunction,
        context.undefined,
        intrinsicsHandle,
        this.natives.stop,
        this.natives.format,
        this.helpersObject,
        this.guards,
      ),
    );
  }

  /**
   * Calls a helper of the shared realm with one value of a session realm and returns its string
   * result, or `undefined` when it failed (an interrupt, out of memory). Nested calls (an inspect
   * hook that logs) deeper than a few levels are refused. Host errors propagate.
   */
  callHelper(helper: SharedRealmHelper, valueHandle: QuickJSHandle): string | undefined {
    if (this.formatNesting >= MAXIMUM_FORMAT_NESTING) return undefined;
    this.formatNesting += 1;
    const context = this.sharedContext;
    try {
      const result = context.callFunction(
        this.helpers.get(helper) as QuickJSHandle,
        context.undefined,
        valueHandle,
      );
      if (result.error) {
        result.error.dispose();
        return undefined;
      }
      const text = context.typeof(result.value) === 'string' ? context.getString(result.value) : undefined;
      result.value.dispose();
      return text;
    } finally {
      this.formatNesting -= 1;
    }
  }

  /**
   * Frees the runtime (only an instance that will be reused calls this: a dropped instance's memory
   * is wiped whole instead). Only for a healthy instance; an unhealthy one is simply dropped.
   */
  dispose(): void {
    if (!this.healthy) return;
    this.healthy = false;
    try {
      for (const handle of this.helpers.values()) handle.dispose();
      for (const handle of Object.values(this.natives)) handle.dispose();
      this.helpersObject.dispose();
      this.guards.dispose();
      this.createBridgeFunction.dispose();
      this.sharedContext.dispose();
      this.runtime.dispose();
    } catch {
      // The instance is dropped either way; its memory goes with it.
    }
  }

  /** QuickJS's interrupt poll: true interrupts the guest; otherwise the next poll is paced. */
  private poll(): boolean {
    if (this.interruptCheck?.()) return true;
    if (this.pacing !== undefined) this.pacePolls(this.pacing);
    return false;
  }

  /** Sets every context's interrupt counter for the data the session holds or could hold without growing memory. */
  pacePolls(pacing: PollPacing | undefined = this.pacing): void {
    if (pacing === undefined) return;
    const buffer = this.slot.memory.buffer;
    let words = this.words;
    if (words === undefined || words.buffer !== buffer) {
      words = new Int32Array(buffer);
      this.words = words;
    }
    const layout = pacing.layout;
    const heapBreak = (words[layout.breakAddress >> 2] as number) >>> 0;
    if (heapBreak !== this.pacedBreak || buffer.byteLength !== this.pacedLength) {
      this.pacedBreak = heapBreak;
      this.pacedLength = buffer.byteLength;
      // The session can hold what its heap grew to, and fill the memory it has without growing it.
      const data = Math.max(heapBreak, buffer.byteLength) - pacing.baseline;
      this.pacedTicks =
        data * INTERRUPT_COUNTER_START <= POLL_BUDGET_BYTES
          ? 0
          : Math.max(MINIMUM_POLL_TICKS, Math.floor(POLL_BUDGET_BYTES / data));
    }
    const ticks = this.pacedTicks;
    if (ticks === 0) return;
    const offset = layout.interruptCounterOffset;
    for (const pointer of this.contextPointers) words[(pointer + offset) >> 2] = ticks;
  }

  /** @internal Called by the memory's patched `grow`. */
  grow(deltaPages: number): number {
    const target = this.slot.byteLength + deltaPages * 65_536;
    if (target > this.softLimitBytes) return this.refuseGrowth();
    try {
      const previous = this.slot.growNow(deltaPages);
      this.failedGrowthsInARow = 0;
      // More room for data: the next poll comes sooner.
      this.pacePolls();
      return previous;
    } catch {
      return this.refuseGrowth();
    }
  }

  private refuseGrowth(): never {
    this.failedGrowthsInARow += 1;
    if (this.failedGrowthsInARow >= FAILED_GROWTHS_PER_ALLOCATION) this.exhausted = true;
    throw new RangeError('Sandbox memory limit reached');
  }

  // The natives take and return primitives only (and never throw into the guest). A host error
  // inside one (a host stack overflow) may leave the engine inconsistent: the owner is told, which
  // poisons the sandbox and interrupts the guest.
  private nativeImplementations(): Record<
    NativeName,
    (this: QuickJSHandle, ...args: QuickJSHandle[]) => QuickJSHandle | undefined
  > {
    const context = this.sharedContext;
    const guard = <Result>(action: (owner: InstanceOwner) => Result): Result | undefined => {
      const owner = this.owner;
      if (owner === undefined) return undefined;
      try {
        return action(owner);
      } catch (error) {
        owner.onHostFailure(error);
        return undefined;
      }
    };
    return {
      stop: (codeHandle) => {
        guard((owner) => owner.onStop(context.getString(codeHandle as QuickJSHandle)));
        return undefined;
      },
      format: (argumentsHandle) =>
        guard(() =>
          context.newString(
            this.callHelper('formatArguments', argumentsHandle as QuickJSHandle) ?? '[unprintable value]',
          ),
        ),
    };
  }
}

/**
 * Instantiates the QuickJS module (compiled once per thread) on a fresh memory capped at
 * `maximumBytes` (rounded up to whole pages, at least {@link MINIMUM_INSTANCE_BYTES}), and sets up its
 * shared realm by evaluating the guest scripts.
 */
export async function createEngineInstance(
  maximumBytes: number,
  slot: MemorySlot = new MemorySlot(maximumBytes),
): Promise<EngineInstance> {
  const module = await loadQuickJSModule(slot.memory);
  return new EngineInstance(module, slot, undefined);
}
