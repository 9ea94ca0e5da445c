import variant from '@jitl/quickjs-wasmfile-release-sync';
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
  type QuickJSWASMModule,
} from 'quickjs-emscripten-core';
import { readGuestSource } from './guest-source.js';
import { getQuickJSWasmModule } from './wasm-module.js';

/** Bytes in one WebAssembly page. */
export const WASM_PAGE_BYTES = 65_536;

/**
 * The smallest memory a QuickJS instance can have: the module declares 256 pages (16 MiB) as its
 * initial memory. Memory limits below this behave as this.
 */
export const MINIMUM_INSTANCE_BYTES = 256 * WASM_PAGE_BYTES;

/**
 * How many failed growth attempts in a row mean an allocation really failed. Emscripten's heap
 * resize tries three sizes (20 %, 10 % and 5 % over the request) before it gives up and `malloc`
 * returns null; a single refused attempt is normal when the memory is close to its limit.
 */
const FAILED_GROWTHS_PER_ALLOCATION = 3;

const nativeGrow = WebAssembly.Memory.prototype.grow;

/** Nested console formatting (an inspect hook that logs) deeper than this prints a placeholder. */
const MAXIMUM_FORMAT_NESTING = 4;

/** Functions of the shared realm the host calls with one value of a session realm. */
export type SharedRealmHelper = 'formatArguments' | 'deepFreeze' | 'describeThrown' | 'serializeResult';

const HELPERS: readonly SharedRealmHelper[] = [
  'formatArguments',
  'deepFreeze',
  'describeThrown',
  'serializeResult',
];

/** What the instance's natives report to the session that owns the instance. */
export interface InstanceOwner {
  /** The guest asked to stop (`STDOUT_LIMIT_EXCEEDED`). */
  onStop(code: string): void;
  /** A native failed on the host side: the instance may be inconsistent. */
  onHostFailure(error: unknown): void;
}

/** The natives of the shared realm, passed to the bridge of every session. */
interface Natives {
  stop: QuickJSHandle;
  format: QuickJSHandle;
}

/**
 * One instantiation of the QuickJS WebAssembly module with its own `WebAssembly.Memory` and one
 * QuickJS runtime. The runtime holds the shared realm (a context with the console formatter, the
 * session helpers and the bridge factory, compiled once, then frozen by the lockdown) and, for
 * each session in turn, a fresh context of its own.
 *
 * The memory has a hard `maximum`; a per-session soft limit below it is enforced when the heap asks
 * to grow (the builds do not enforce `runtime.setMemoryLimit`). A memory bomb therefore fails inside
 * this instance only, as a QuickJS "out of memory" error, and marks the instance exhausted.
 */
export class EngineInstance {
  /** The QuickJS module bound to this instance's memory. */
  readonly module: QuickJSWASMModule;
  /** This instance's memory. */
  readonly memory: WebAssembly.Memory;
  /** The hard cap of `memory`, in bytes. */
  readonly maximumBytes: number;
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
  private softLimitBytes: number;
  private failedGrowthsInARow = 0;
  private exhausted = false;
  private readonly sharedContext: QuickJSContext;
  private readonly helpers = new Map<SharedRealmHelper, QuickJSHandle>();
  private readonly createBridgeFunction: QuickJSHandle;
  /** The formatter's helpers object (frozen), handed to each session's bridge. */
  private readonly helpersObject: QuickJSHandle;
  private readonly natives: Natives;
  private formatNesting = 0;
  private interruptCheck: (() => boolean) | undefined;

  /** @internal Use {@link createEngineInstance}. */
  constructor(module: QuickJSWASMModule, memory: WebAssembly.Memory, maximumBytes: number) {
    this.module = module;
    this.memory = memory;
    this.maximumBytes = maximumBytes;
    this.softLimitBytes = maximumBytes;
    this.runtime = module.newRuntime();
    this.runtime.setInterruptHandler(() => this.interruptCheck?.() ?? false);
    const context = this.runtime.newContext();
    this.sharedContext = context;
    const evaluate = (source: string, name: string) =>
      context.unwrapResult(context.evalCode(source, name, { type: 'global', strict: true }));
    const formatter = evaluate(readGuestSource('formatter'), 'enclave:formatter');
    for (const helper of HELPERS) this.helpers.set(helper, context.getProp(formatter, helper));
    const freeze = evaluate('Object.freeze', 'enclave:freeze');
    context.unwrapResult(context.callFunction(freeze, context.undefined, formatter)).dispose();
    freeze.dispose();
    this.helpersObject = formatter;
    this.createBridgeFunction = evaluate(readGuestSource('bridge'), 'enclave:bridge');
    this.natives = this.createNatives(context);
    const frozen = evaluate(readGuestSource('lockdown'), 'enclave:lockdown');
    this.frozenObjects = context.getNumber(frozen);
    frozen.dispose();
  }

  /** Current size of the memory in bytes. */
  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /** Whether an allocation failed because the memory limit was reached (sticky until reset). */
  get memoryExhausted(): boolean {
    return this.exhausted;
  }

  /** Sets the limit the heap may grow to for the next session, and clears the exhausted flag. */
  setMemoryLimit(bytes: number): void {
    this.softLimitBytes = Math.min(Math.max(bytes, MINIMUM_INSTANCE_BYTES), this.maximumBytes);
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

  /** Frees the runtime. Only for a healthy instance; an unhealthy one is simply dropped. */
  dispose(): void {
    if (!this.healthy) return;
    this.healthy = false;
    try {
      for (const handle of this.helpers.values()) handle.dispose();
      for (const handle of Object.values(this.natives)) handle.dispose();
      this.helpersObject.dispose();
      this.createBridgeFunction.dispose();
      this.sharedContext.dispose();
      this.runtime.dispose();
    } catch {
      // The instance is dropped either way; its memory goes with it.
    }
  }

  /** @internal Called by the memory's patched `grow`. */
  grow(deltaPages: number): number {
    const target = this.memory.buffer.byteLength + deltaPages * WASM_PAGE_BYTES;
    if (target > this.softLimitBytes) return this.refuseGrowth();
    try {
      const previous = nativeGrow.call(this.memory, deltaPages);
      this.failedGrowthsInARow = 0;
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
  private createNatives(context: QuickJSContext): Natives {
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
      stop: context.newFunction('stop', (codeHandle) => {
        guard((owner) => owner.onStop(context.getString(codeHandle)));
      }),
      format: context.newFunction('format', (argumentsHandle) =>
        guard(() =>
          context.newString(this.callHelper('formatArguments', argumentsHandle) ?? '[unprintable value]'),
        ),
      ),
    };
  }
}

/**
 * Instantiates the QuickJS module (compiled once per thread) with a fresh memory capped at
 * `maximumBytes` (rounded up to whole pages, at least {@link MINIMUM_INSTANCE_BYTES}), and sets up
 * its shared realm.
 */
export async function createEngineInstance(maximumBytes: number): Promise<EngineInstance> {
  const maximumPages = Math.ceil(Math.max(maximumBytes, MINIMUM_INSTANCE_BYTES) / WASM_PAGE_BYTES);
  const memory = new WebAssembly.Memory({
    initial: MINIMUM_INSTANCE_BYTES / WASM_PAGE_BYTES,
    maximum: maximumPages,
  });
  let instance: EngineInstance | undefined;
  // Emscripten grows the heap through `memory.grow`; routing it through the instance enforces the
  // per-session soft limit and records exhaustion.
  Object.defineProperty(memory, 'grow', {
    value: (deltaPages: number): number => {
      if (instance === undefined) return nativeGrow.call(memory, deltaPages);
      return instance.grow(deltaPages);
    },
  });
  const module = await newQuickJSWASMModuleFromVariant(
    newVariant(variant, { wasmModule: getQuickJSWasmModule(), wasmMemory: memory }),
  );
  instance = new EngineInstance(module, memory, maximumPages * WASM_PAGE_BYTES);
  return instance;
}
