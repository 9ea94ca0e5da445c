import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten-core';
import type { EngineInstance } from './engine-instance.js';

/** The raw functions of the build's FFI that a turn uses (each takes and returns pointers). */
interface TurnFfi {
  QTS_Call(context: number, func: number, thisValue: number, argc: number, argv: number): number;
  QTS_ResolveException(context: number, value: number): number;
  QTS_ExecutePendingJob(runtime: number, maxJobs: number, lastJobContext: number): number;
  QTS_FreeValuePointer(context: number, value: number): void;
  QTS_FreeValuePointerRuntime(runtime: number, value: number): void;
  QTS_NewString(context: number, utf8: number): number;
  QTS_GetString(context: number, value: number): number;
  QTS_FreeCString(context: number, utf8: number): void;
  QTS_Typeof(context: number, value: number): number;
}

interface EmscriptenHeap {
  _malloc(bytes: number): number;
  _free(pointer: number): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The calls a guest turn makes into the engine (hand tool results to the bridge, run the pending
 * jobs, drain the outbox), made straight through the build's FFI. quickjs-emscripten's handle API
 * allocates a lifetime object, an argument array and a result object per call and converts strings
 * with a loop in JavaScript; these are the calls of every tool result, so they pass pointers and
 * move text with the platform's UTF-8 encoder and decoder instead. Failures come back as handles of
 * the context, so that they are described exactly as on the handle API's path.
 */
export class EngineCalls {
  private readonly ffi: TurnFfi;
  private readonly heap: EmscriptenHeap;
  private readonly memory: WebAssembly.Memory;
  private readonly contextPointer: number;
  private readonly runtimePointer: number;
  private readonly undefinedPointer: number;
  /** Four bytes for one argument pointer, four for the context pointer `QTS_ExecutePendingJob` writes. */
  private scratch = 0;
  private bytes = new Uint8Array(0);
  private words = new Int32Array(0);

  constructor(
    instance: EngineInstance,
    private readonly context: QuickJSContext,
  ) {
    const internals = context as unknown as {
      ffi: TurnFfi;
      ctx: { value: number };
      rt: { value: number };
    };
    this.ffi = internals.ffi;
    this.contextPointer = internals.ctx.value;
    this.runtimePointer = (instance.runtime as unknown as { rt: { value: number } }).rt.value;
    this.heap = (instance.module as unknown as { module: EmscriptenHeap }).module;
    this.memory = instance.memory;
    this.undefinedPointer = context.undefined.value as number;
  }

  /** Calls `func` with one string argument; returns the error's handle when it threw. */
  callWithString(func: QuickJSHandle, text: string): QuickJSHandle | undefined {
    const ffi = this.ffi;
    const context = this.contextPointer;
    const argument = this.newString(text);
    try {
      const argv = this.scratchPointer();
      this.view();
      this.words[argv >> 2] = argument;
      return this.settle(ffi.QTS_Call(context, func.value as number, this.undefinedPointer, 1, argv));
    } finally {
      ffi.QTS_FreeValuePointer(context, argument);
    }
  }

  /** Runs every pending job; returns the error's handle when one threw (an interrupt, out of memory). */
  executePendingJobs(): QuickJSHandle | undefined {
    const ffi = this.ffi;
    const out = this.scratchPointer() + 4;
    this.view();
    this.words[out >> 2] = 0;
    const result = ffi.QTS_ExecutePendingJob(this.runtimePointer, -1, out);
    this.view();
    const jobContext = this.words[out >> 2] as number;
    if (jobContext === 0) {
      ffi.QTS_FreeValuePointerRuntime(this.runtimePointer, result);
      return undefined;
    }
    // The count of jobs run (a number), or what the failing job threw.
    const type = ffi.QTS_Typeof(jobContext, result);
    this.view();
    const isNumber = this.bytes[type] === 0x6e; // 'n' of 'number'
    this.heap._free(type);
    if (isNumber) {
      ffi.QTS_FreeValuePointer(jobContext, result);
      return undefined;
    }
    return (
      this.context as unknown as { memory: { heapValueHandle(pointer: number): QuickJSHandle } }
    ).memory.heapValueHandle(result);
  }

  /** Calls `func` without arguments and returns the string it returned (`undefined` when it threw). */
  callForString(func: QuickJSHandle): string | undefined {
    const ffi = this.ffi;
    const context = this.contextPointer;
    const result = ffi.QTS_Call(context, func.value as number, this.undefinedPointer, 0, 0);
    const exception = ffi.QTS_ResolveException(context, result);
    if (exception !== 0) {
      ffi.QTS_FreeValuePointer(context, result);
      ffi.QTS_FreeValuePointer(context, exception);
      return undefined;
    }
    const utf8 = ffi.QTS_GetString(context, result);
    ffi.QTS_FreeValuePointer(context, result);
    this.view();
    const bytes = this.bytes;
    const text = decoder.decode(bytes.subarray(utf8, bytes.indexOf(0, utf8)));
    ffi.QTS_FreeCString(context, utf8);
    return text;
  }

  private settle(result: number): QuickJSHandle | undefined {
    const ffi = this.ffi;
    const context = this.contextPointer;
    const exception = ffi.QTS_ResolveException(context, result);
    ffi.QTS_FreeValuePointer(context, result);
    if (exception === 0) return undefined;
    return (
      this.context as unknown as { memory: { heapValueHandle(pointer: number): QuickJSHandle } }
    ).memory.heapValueHandle(exception);
  }

  private newString(text: string): number {
    // UTF-8 takes at most three bytes per UTF-16 unit; long texts are measured instead. Plus the
    // terminating zero.
    const capacity = (text.length <= 65_536 ? text.length * 3 : Buffer.byteLength(text, 'utf8')) + 1;
    const pointer = this.heap._malloc(capacity);
    if (pointer === 0) throw new RangeError('The sandbox has no memory left for a tool result');
    try {
      this.view();
      const bytes = this.bytes;
      const { written } = encoder.encodeInto(text, bytes.subarray(pointer, pointer + capacity - 1));
      bytes[pointer + written] = 0;
      return this.ffi.QTS_NewString(this.contextPointer, pointer);
    } finally {
      this.heap._free(pointer);
    }
  }

  private scratchPointer(): number {
    if (this.scratch === 0) {
      this.scratch = this.heap._malloc(8);
      if (this.scratch === 0) throw new RangeError('The sandbox has no memory left');
    }
    return this.scratch;
  }

  // The memory's buffer changes when it grows (any call into the engine may grow it): the views follow.
  private view(): void {
    const buffer = this.memory.buffer;
    if (this.bytes.buffer !== buffer) {
      this.bytes = new Uint8Array(buffer);
      this.words = new Int32Array(buffer);
    }
  }
}
