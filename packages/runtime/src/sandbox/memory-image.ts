import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';

/**
 * The memory of a parked session, as the pages where it differs from its engine template's image
 * (see `EngineTemplate.differingPages`), compressed. A session waiting on a tool differs from the
 * template in about fifty 4 KiB pages, which deflate to about 70 KiB: an eighth of the memory its
 * instance held.
 *
 * Deflate at its fastest level (zlib, part of Node, so no dependency): a park costs a few
 * milliseconds of the sandbox thread's time and a restore about one, against the seconds to hours a
 * person takes to answer a client tool.
 */
export class MemoryImage {
  /** Page numbers of the pages held, in the order of their bytes. */
  private readonly pages: Uint32Array;
  private readonly compressed: Buffer;

  /**
   * Copies and compresses `bytes` (views of the live memory, one per page number of `pages`): the
   * memory may change or be wiped once this returns.
   */
  constructor(pages: readonly number[], bytes: readonly Uint8Array[]) {
    this.pages = Uint32Array.from(pages);
    this.compressed = deflateRawSync(Buffer.concat(bytes), { level: constants.Z_BEST_SPEED });
  }

  /** Bytes this image holds (what a parked session costs, besides its host-side state). */
  get byteLength(): number {
    return this.compressed.length + this.pages.byteLength;
  }

  /** Writes the pages into `memory`, `pageBytes` bytes each, at their places. */
  writeInto(memory: Uint8Array, pageBytes: number): void {
    const bytes = inflateRawSync(this.compressed);
    if (bytes.length !== this.pages.length * pageBytes) {
      throw new Error('A parked session image does not hold the pages it lists');
    }
    for (let index = 0; index < this.pages.length; index++) {
      const start = index * pageBytes;
      memory.set(bytes.subarray(start, start + pageBytes), (this.pages[index] as number) * pageBytes);
    }
  }
}
