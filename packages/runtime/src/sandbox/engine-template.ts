import { createEngineInstance, EngineInstance, type EnginePointers } from './engine-instance.js';
import { loadQuickJSModule } from './engine-loader.js';
import type { MemoryImage } from './memory-image.js';
import { getMemoryLayout, type MemoryLayout, MINIMUM_INSTANCE_BYTES } from './memory-layout.js';
import { MemorySlot, type WipeExtent } from './memory-slot.js';
import { Sandbox, type SandboxPointers } from './sandbox.js';

/** Bytes kept beyond the static data's end as part of the low region (the zero-initialised statics). */
const STATICS_MARGIN = 65_536;
/** How deep below its base the template's own stack may reach (it only evaluated the guest scripts). */
const TEMPLATE_STACK_LIMIT = 1024 * 1024;
const PAGE = 4096;
/**
 * Free heap a session gets inside the module's initial memory. The rest of that memory is held by
 * one block the template allocates and never frees (never touched, so never resident): a session
 * that needs more grows the memory, which tells the instance at once that it holds much data and
 * that its interrupt polls must come sooner (see poll pacing in the engine instance).
 */
const FREE_HEAP_BYTES = 1024 * 1024;

/**
 * A prepared engine, copied for every session: one instance evaluated the guest scripts (formatter,
 * bridge factory, guards, lockdown) and prepared one session context with its bridge, then its
 * memory was captured as an image. Nothing of any session ever ran in it.
 *
 * {@link clone} makes a new WebAssembly instance of the module on an all-zero memory, copies the
 * image in, and wraps the recorded addresses: a ready sandbox for about the cost of instantiating
 * the module, instead of the milliseconds that compiling the guest scripts takes. Every session
 * thus runs in a fresh instance whose memory holds the template's bytes and zeros, never another
 * session's.
 *
 * The image is the low region (static data and a margin for the zero-initialised statics) and the
 * range from the lowest stack byte the template wrote up to its heap break, less the hole: the
 * block the template holds to keep the free heap small (see FREE_HEAP_BYTES), which stays zero.
 * Every other byte of the template's memory is zero, so a copy of these ranges onto a wiped memory
 * reproduces it exactly.
 */
export class EngineTemplate {
  /** The layout of the QuickJS build. */
  readonly layout: MemoryLayout;
  /** What a wipe must cover besides the session's own stack and heap. */
  readonly extent: WipeExtent;
  private readonly low: Uint8Array;
  /** The pages of the stack and heap ranges that hold something, with their addresses. */
  private readonly pages: { address: number; bytes: Uint8Array }[];
  private readonly pageBytes: number;
  private readonly engine: EnginePointers;
  private readonly sandbox: SandboxPointers;

  private constructor(
    layout: MemoryLayout,
    extent: WipeExtent,
    low: Uint8Array,
    pages: { address: number; bytes: Uint8Array }[],
    engine: EnginePointers,
    sandbox: SandboxPointers,
  ) {
    this.layout = layout;
    this.extent = extent;
    this.low = low;
    this.pages = pages;
    this.pageBytes = pages.reduce((total, page) => total + page.bytes.length, 0);
    this.engine = engine;
    this.sandbox = sandbox;
  }

  /** Builds the template (about 20 ms: the guest scripts are compiled once per thread). */
  static async create(): Promise<EngineTemplate> {
    const layout = await getMemoryLayout();
    const slot = new MemorySlot(MINIMUM_INSTANCE_BYTES);
    const instance = await createEngineInstance(MINIMUM_INSTANCE_BYTES, slot);
    const sandbox = new Sandbox(instance);
    const engine = instance.pointers();
    const prepared = sandbox.pointers();
    const malloc = (instance.module as unknown as { module: { _malloc(size: number): number } }).module
      ._malloc;
    const heapBreak = () => new Uint32Array(slot.memory.buffer, layout.breakAddress, 1)[0] as number;
    const reserve = slot.byteLength - heapBreak() - FREE_HEAP_BYTES;
    const block = reserve > 4 * PAGE ? malloc(reserve) : 0;
    const holeStart = block === 0 ? heapBreak() : Math.ceil(block / PAGE) * PAGE;
    const holeEnd = block === 0 ? holeStart : Math.floor((block + reserve) / PAGE) * PAGE;
    const memory = slot.memory.buffer;
    const heapEnd = heapBreak();
    const lowEnd = Math.ceil(layout.dataEnd / PAGE) * PAGE + STATICS_MARGIN;
    const words = new Uint32Array(memory, lowEnd, (layout.stackBase - lowEnd) >> 2);
    let first = 0;
    while (first < words.length && words[first] === 0) first++;
    const stackLow = Math.floor((lowEnd + first * 4) / PAGE) * PAGE;
    const bytes = new Uint8Array(memory);
    if (
      stackLow < layout.stackBase - TEMPLATE_STACK_LIMIT ||
      heapEnd < layout.heapBase ||
      holeEnd < holeStart ||
      holeEnd > heapEnd ||
      !bytes.subarray(holeStart, holeEnd).every((byte) => byte === 0)
    ) {
      throw new Error('The QuickJS build does not have the memory layout the sandbox expects');
    }
    return new EngineTemplate(
      layout,
      { lowEnd, stackLow, heapEnd, holeStart, holeEnd },
      bytes.slice(0, lowEnd),
      [...nonZeroRuns(bytes, stackLow, holeStart), ...nonZeroRuns(bytes, holeEnd, heapEnd)],
      engine,
      prepared,
    );
  }

  /** Bytes of every instance's memory held by the reserved block; memories are made this much larger. */
  get reservedBytes(): number {
    return this.extent.holeEnd - this.extent.holeStart;
  }

  /** Bytes the image holds. */
  get imageBytes(): number {
    return this.low.length + this.pageBytes;
  }

  /**
   * A ready sandbox in a new instance of the module on `slot`, whose memory must be all zero (new,
   * or wiped by {@link MemorySlot.wipe} with this template's extent).
   */
  async clone(slot: MemorySlot): Promise<Sandbox> {
    const module = await loadQuickJSModule(slot.memory);
    // Instantiating wrote the module's data segments and ran its constructors: the image covers
    // everything they touched.
    const bytes = new Uint8Array(slot.memory.buffer);
    // The low region is copied whole (the data segments were just written there); in the stack and
    // heap ranges only the pages that hold something, onto memory known to be zero: pages left
    // alone are never touched, so never resident.
    bytes.set(this.low, 0);
    for (const page of this.pages) bytes.set(page.bytes, page.address);
    const instance = new EngineInstance(module, slot, this.engine);
    instance.reservedBytes = this.reservedBytes;
    instance.enablePollPacing({ layout: this.layout, baseline: this.extent.heapEnd });
    return new Sandbox(instance, this.sandbox);
  }

  /**
   * Whether `sandbox` is the context this template prepared, in an instance cloned from it (not a
   * later context of an instance reused by opt-in reuse): only such a sandbox can be restored from
   * a {@link MemoryImage} by {@link restore}.
   */
  prepared(sandbox: Sandbox): boolean {
    return sandbox.pointers().context === this.sandbox.context;
  }

  /**
   * The pages of `memory` (an instance cloned from this template) that differ from the template's
   * image, 4 KiB at a time, compared natively. The hole is left out: no session can write it.
   */
  differingPages(memory: ArrayBuffer): { pages: number[]; bytes: Buffer[] } {
    const pages: number[] = [];
    const bytes: Buffer[] = [];
    const { holeStart, holeEnd } = this.extent;
    const lowEnd = this.low.length;
    let run = 0;
    for (let address = 0; address < memory.byteLength; address += PAGE) {
      if (address >= holeStart && address < holeEnd) {
        address = holeEnd - PAGE;
        continue;
      }
      const page = Buffer.from(memory, address, PAGE);
      while (run < this.pages.length && this.runEnd(run) <= address) run++;
      const current = this.pages[run];
      let same: boolean;
      if (address < lowEnd) same = page.equals(this.low.subarray(address, address + PAGE));
      else if (current !== undefined && current.address <= address) {
        const offset = address - current.address;
        same = page.equals(current.bytes.subarray(offset, offset + PAGE));
      } else same = page.equals(ZERO_PAGE);
      if (same) continue;
      pages.push(address / PAGE);
      bytes.push(page);
    }
    return { pages, bytes };
  }

  /**
   * A sandbox in a new instance on `slot` (all zero, like {@link clone}'s) whose memory is the
   * template's image with the image's pages written over it: the memory of the parked session,
   * byte for byte, so its context, bridge and pending promises are where they were.
   */
  async restore(image: MemoryImage, slot: MemorySlot): Promise<Sandbox> {
    const sandbox = await this.clone(slot);
    const bytes = new Uint8Array(slot.memory.buffer);
    image.writeInto(bytes, PAGE);
    return sandbox;
  }

  private runEnd(index: number): number {
    const run = this.pages[index] as { address: number; bytes: Uint8Array };
    return run.address + run.bytes.length;
  }
}

const ZERO_PAGE = Buffer.alloc(PAGE);

/** The runs of pages of `bytes[start, end)` with a byte that is not zero. */
function nonZeroRuns(
  bytes: Uint8Array,
  start: number,
  end: number,
): { address: number; bytes: Uint8Array }[] {
  const runs: { address: number; bytes: Uint8Array }[] = [];
  let runStart = -1;
  for (let page = start; page < end; page += PAGE) {
    const pageEnd = Math.min(page + PAGE, end);
    let used = false;
    for (let index = page; index < pageEnd; index++) {
      if (bytes[index] !== 0) {
        used = true;
        break;
      }
    }
    if (used && runStart < 0) runStart = page;
    if (!used && runStart >= 0) {
      runs.push({ address: runStart, bytes: bytes.slice(runStart, page) });
      runStart = -1;
    }
  }
  if (runStart >= 0) runs.push({ address: runStart, bytes: bytes.slice(runStart, end) });
  return runs;
}
