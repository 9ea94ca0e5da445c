import { readFileSync } from 'node:fs';
import { engineWasmPath } from './engine-build.js';
import { loadQuickJSModule } from './engine-loader.js';

/** Bytes in one WebAssembly page. */
export const WASM_PAGE_BYTES = 65_536;

/**
 * The smallest memory a QuickJS instance can have: the module declares 256 pages (16 MiB) as its
 * initial memory. Memory limits below this behave as this.
 */
export const MINIMUM_INSTANCE_BYTES = 256 * WASM_PAGE_BYTES;

/**
 * Where the QuickJS build keeps what in its linear memory: static data, then the stack (which
 * grows down from `stackBase`), then the heap (`heapBase` up to the break that `sbrk` keeps in a
 * static variable at `breakAddress`). The heap break only grows: freed memory stays below it.
 */
export interface MemoryLayout {
  /** End of the initialised static data (the module's data segments). */
  readonly dataEnd: number;
  /** The stack's highest address, where it starts (the initial stack pointer). */
  readonly stackBase: number;
  /** Where the heap starts (the break's initial value). */
  readonly heapBase: number;
  /** The address of the heap break, a 32-bit value in static data. */
  readonly breakAddress: number;
  /**
   * Where a QuickJS context keeps its interrupt counter, as an offset from the context's address.
   * QuickJS calls the interrupt handler when the counter runs out (it counts calls and loop
   * iterations, 10,000 between two calls) and resets it first; the handler may set it lower.
   */
  readonly interruptCounterOffset: number;
}

/** What QuickJS resets a context's interrupt counter to before calling the handler. */
export const INTERRUPT_COUNTER_START = 10_000;

let layout: Promise<MemoryLayout> | undefined;

/**
 * The layout of the QuickJS build, found once per thread: the stack base and the data end are read
 * from the module's global and data sections; the heap break's address is the one static word that
 * follows a large allocation in a throw-away instance.
 */
export function getMemoryLayout(): Promise<MemoryLayout> {
  layout ??= findMemoryLayout();
  return layout;
}

async function findMemoryLayout(): Promise<MemoryLayout> {
  const binary = readFileSync(engineWasmPath());
  const { stackBase, dataEnd } = readModuleLayout(binary);
  const memory = new WebAssembly.Memory({ initial: MINIMUM_INSTANCE_BYTES / WASM_PAGE_BYTES, maximum: 1024 });
  const module = await loadQuickJSModule(memory);
  const malloc = (module as unknown as { module: { _malloc(size: number): number } }).module._malloc;
  const before = new Uint32Array(memory.buffer.slice(0, (dataEnd + 65_536) & ~3));
  const size = 4 * 1024 * 1024;
  const pointer = malloc(size);
  const after = new Uint32Array(memory.buffer, 0, before.length);
  // The break is the largest changed word that now points just past the new block.
  let breakAddress = -1;
  let breakValue = -1;
  for (let index = 0; index < before.length; index++) {
    const value = after[index] as number;
    if (value === before[index] || value < pointer + size || value > pointer + size + WASM_PAGE_BYTES)
      continue;
    if (value > breakValue) {
      breakValue = value;
      breakAddress = index * 4;
    }
  }
  const heapBase = breakAddress < 0 ? -1 : (before[breakAddress / 4] as number);
  if (breakAddress < 0 || heapBase < stackBase || heapBase > stackBase + WASM_PAGE_BYTES) {
    throw new Error('The QuickJS build does not have the memory layout the sandbox expects');
  }
  return { dataEnd, stackBase, heapBase, breakAddress, interruptCounterOffset: findInterruptCounter(module) };
}

/**
 * The offset of the interrupt counter in a context: the one word of the context that holds the
 * counter's start value every time the handler is called, and that the handler can lower.
 */
function findInterruptCounter(module: Awaited<ReturnType<typeof loadQuickJSModule>>): number {
  const runtime = module.newRuntime();
  const context = runtime.newContext();
  const address = (context as unknown as { ctx: { value: number } }).ctx.value;
  const memory = () =>
    new Int32Array((module as unknown as { getWasmMemory(): WebAssembly.Memory }).getWasmMemory().buffer);
  let candidates: number[] | undefined;
  runtime.setInterruptHandler(() => {
    const words = memory();
    const found: number[] = [];
    for (let offset = 0; offset < 2048; offset += 4) {
      if (words[(address + offset) >> 2] === INTERRUPT_COUNTER_START) found.push(offset);
    }
    candidates = candidates === undefined ? found : candidates.filter((offset) => found.includes(offset));
    return false;
  });
  context.unwrapResult(context.evalCode('for (let i = 0; i < 100000; i++) {}')).dispose();
  const offset = candidates?.length === 1 ? (candidates[0] as number) : -1;
  // Confirm: lowered by the handler, the counter brings the next call sooner.
  let calls = 0;
  runtime.setInterruptHandler(() => {
    calls += 1;
    if (offset >= 0) memory()[(address + offset) >> 2] = 100;
    return false;
  });
  context.unwrapResult(context.evalCode('for (let i = 0; i < 100000; i++) {}')).dispose();
  if (offset < 0 || calls < 500) {
    throw new Error('The QuickJS build does not have the interrupt counter the sandbox expects');
  }
  return offset;
}

/** Reads the initial stack pointer (the module's first global) and the end of its data segments. */
function readModuleLayout(binary: Uint8Array): { stackBase: number; dataEnd: number } {
  let position = 8;
  const unsigned = (): number => {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = binary[position++] as number;
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return result;
  };
  const signed = (): number => {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = binary[position++] as number;
      result |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80);
    return shift < 32 && byte & 0x40 ? result | (-1 << shift) : result;
  };
  let stackBase = -1;
  let dataEnd = -1;
  while (position < binary.length) {
    const section = binary[position++] as number;
    const size = unsigned();
    const end = position + size;
    if (section === 6 && stackBase < 0) {
      unsigned(); // global count
      position += 2; // value type, mutability
      if (binary[position++] === 0x41) stackBase = signed(); // i32.const
    } else if (section === 11) {
      const count = unsigned();
      for (let index = 0; index < count; index++) {
        const flags = unsigned();
        let offset = 0;
        if (flags === 0 || flags === 2) {
          if (flags === 2) unsigned();
          position++; // i32.const
          offset = signed();
          position++; // end
        }
        const length = unsigned();
        position += length;
        if (flags !== 1) dataEnd = Math.max(dataEnd, offset + length);
      }
    }
    position = end;
  }
  if (stackBase <= 0 || dataEnd <= 0) {
    throw new Error('The QuickJS build does not have the memory layout the sandbox expects');
  }
  return { stackBase, dataEnd };
}
