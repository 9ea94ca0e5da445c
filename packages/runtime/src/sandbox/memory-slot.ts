import { type MemoryLayout, MINIMUM_INSTANCE_BYTES, WASM_PAGE_BYTES } from './memory-layout.js';

const nativeGrow = WebAssembly.Memory.prototype.grow;

/** Decides on the growth of a slot's memory: returns the previous page count, or throws to refuse. */
export interface GrowthPolicy {
  grow(deltaPages: number): number;
}

/** What a wipe must cover beyond the heap: the image's extent (see the engine template). */
export interface WipeExtent {
  /** End of the low region (static data and a margin): always wiped whole. */
  readonly lowEnd: number;
  /** Lowest stack address the template's image holds. */
  readonly stackLow: number;
  /** End of the template's heap. */
  readonly heapEnd: number;
  /**
   * A range of the heap that no session can write: the block the template allocated and never
   * frees, to keep the heap's free room small (see the engine template). Never wiped, never copied.
   */
  readonly holeStart: number;
  readonly holeEnd: number;
}

/**
 * One `WebAssembly.Memory` for one engine instance at a time. A brand-new memory costs a page fault
 * for every page an instance touches (about 16 µs a page on these virtual machines, 20 ms for a
 * fresh QuickJS instance), so a memory is recycled, but only after {@link wipe} has zeroed every byte
 * a session could have written: the next instance starts from the template's image on all-zero
 * memory, and no byte of an earlier session survives.
 */
export class MemorySlot {
  /** The memory. */
  readonly memory: WebAssembly.Memory;
  /** Its hard cap in bytes. */
  readonly maximumBytes: number;
  /** Decides on growth while an instance uses the memory (its soft limit); none: growth is refused. */
  owner: GrowthPolicy | undefined;

  /** Creates a memory of the module's minimum size capped at `maximumBytes` (whole pages, at least the minimum). */
  constructor(maximumBytes: number) {
    const maximumPages = Math.ceil(Math.max(maximumBytes, MINIMUM_INSTANCE_BYTES) / WASM_PAGE_BYTES);
    this.maximumBytes = maximumPages * WASM_PAGE_BYTES;
    const memory = new WebAssembly.Memory({
      initial: MINIMUM_INSTANCE_BYTES / WASM_PAGE_BYTES,
      maximum: maximumPages,
    });
    this.memory = memory;
    // Emscripten grows the heap through `memory.grow`: the owner enforces its session's soft limit.
    Object.defineProperty(memory, 'grow', {
      value: (deltaPages: number): number => {
        if (this.owner === undefined) throw new RangeError('The sandbox memory has no owner');
        return this.owner.grow(deltaPages);
      },
    });
  }

  /** Current size in bytes. */
  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /** Grows the memory itself (for the owner, once it has accepted the growth). */
  growNow(deltaPages: number): number {
    return nativeGrow.call(this.memory, deltaPages);
  }

  /**
   * Zeroes everything a session may have written: the low region, the stack down to
   * `stackWindowBytes` below its base (the guest's stack limit keeps it above), and the heap up to
   * its break. A break that is not plausible (the guest could have written it) wipes the whole memory.
   */
  wipe(layout: MemoryLayout, extent: WipeExtent, stackWindowBytes: number): void {
    this.owner = undefined;
    const bytes = new Uint8Array(this.memory.buffer);
    const heapBreak = new Uint32Array(this.memory.buffer, layout.breakAddress, 1)[0] as number;
    if (heapBreak < layout.heapBase || heapBreak > bytes.length) {
      bytes.fill(0);
      return;
    }
    bytes.fill(0, 0, extent.lowEnd);
    const stackLow = Math.max(extent.lowEnd, Math.min(extent.stackLow, layout.stackBase - stackWindowBytes));
    bytes.fill(0, stackLow, extent.holeStart);
    bytes.fill(0, extent.holeEnd, Math.max(heapBreak, extent.heapEnd));
  }
}
