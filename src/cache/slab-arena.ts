/**
 * Bytes of a slab at most: big enough that a slab's own allocation cost vanishes and that entries
 * of up to 64 KiB pack into it, small enough to empty.
 */
const MAX_SLAB_BYTES = 1024 * 1024;

/**
 * Largest entry packed (its fields and body), as a share of the slab. A Buffer of its own costs
 * about BUFFER_ALLOCATION_BYTES (entry-size.ts) outside the heap besides its bytes, a quarter of a
 * 1 KiB body; a view into a slab costs only the view. Bodies of their own also fragment malloc's
 * heap: freed as they are evicted, among the short-lived buffers every miss allocates, they left
 * 16 KiB objects at 256 MB with 48 MB outside V8's heap and the ArrayBuffers (~3 KB per entry;
 * packed, none: `npm run bench:memory`). A big entry would leave a big unusable tail in its slab:
 * at most 1/16 of it this way.
 */
const PACKED_SHARE = 16;

/** The slab size for a store of `capacityBytes`: a slab's unused tail stays a small share of the budget. */
export function slabBytesFor(capacityBytes: number): number {
  return Math.min(MAX_SLAB_BYTES, 2 ** Math.floor(Math.log2(Math.max(1024, capacityBytes / 64))));
}

/**
 * Small stored entries' bytes (their fields and body, stored-variant.ts) packed into shared
 * slabs, each a view into one. A slab's memory is given back only when none of its entries is
 * held any more, so the bytes of released entries in a slab still in use (and the unused tail of
 * each slab) are waste: the store counts `wasteBytes`
 * against its budget, and moves the survivors of the sparsest slabs elsewhere (`sparsestSlabs`,
 * `move`) when waste grows.
 */
export class SlabArena {
  /** Bytes held per slab, by the slab's memory. */
  readonly #held = new Map<ArrayBufferLike, number>();
  #current: Buffer | undefined;
  #used = 0;
  #heldBytes = 0;
  /** Largest entry packed. */
  readonly packedMaxBytes: number;

  constructor(readonly slabSize: number) {
    this.packedMaxBytes = slabSize / PACKED_SHARE;
  }

  /** Whether `length` bytes go into a slab rather than an allocation of their own. */
  packs(length: number): boolean {
    return length > 0 && length <= this.packedMaxBytes;
  }

  /** `length` bytes of the current slab (a new one when it is full); `packs(length)` must hold. */
  allocate(length: number): Buffer {
    if (this.#current === undefined || this.#used + length > this.slabSize) {
      if (this.#current !== undefined && this.#held.get(this.#current.buffer) === 0) this.#held.delete(this.#current.buffer);
      this.#current = Buffer.allocUnsafeSlow(this.slabSize);
      this.#used = 0;
      this.#held.set(this.#current.buffer, 0);
    }
    const view = this.#current.subarray(this.#used, this.#used + length);
    // Views start at multiples of 8, as the allocator would place them: no unaligned reads for whoever consumes them.
    this.#used += (length + 7) & ~7;
    this.#held.set(this.#current.buffer, this.#held.get(this.#current.buffer)! + length);
    this.#heldBytes += length;
    return view;
  }

  /** Whether `memory` is one of this arena's slabs, still counted. */
  holds(memory: ArrayBufferLike): boolean {
    return this.#held.has(memory);
  }

  /** The store no longer keeps `bytes`: its slab is forgotten (and freed by the GC) once nothing in it is held. */
  release(bytes: Buffer): void {
    const held = this.#held.get(bytes.buffer);
    if (held === undefined) return;
    this.#heldBytes -= bytes.length;
    if (held > bytes.length || bytes.buffer === this.#current?.buffer) this.#held.set(bytes.buffer, held - bytes.length);
    else this.#held.delete(bytes.buffer);
  }

  /** `bytes` copied into the current slab and released from its old one. */
  move(bytes: Buffer): Buffer {
    const moved = this.allocate(bytes.length);
    bytes.copy(moved);
    this.release(bytes);
    return moved;
  }

  /** Memory of all slabs. */
  get slabBytes(): number {
    return this.#held.size * this.slabSize;
  }

  /** Slab memory no stored entry uses: released entries, alignment, tails. */
  get wasteBytes(): number {
    return this.slabBytes - this.#heldBytes;
  }

  /**
   * The slabs to empty, sparsest first, until the waste left would be at most `targetWaste`:
   * only slabs at most 3/4 full, so that moving their entries copies at most 3 bytes per byte freed.
   */
  sparsestSlabs(targetWaste: number): Set<ArrayBufferLike> {
    const candidates = [...this.#held].filter(([slab, held]) => slab !== this.#current?.buffer && held <= (this.slabSize * 3) / 4).sort((a, b) => a[1] - b[1]);
    const chosen = new Set<ArrayBufferLike>();
    let waste = this.wasteBytes;
    for (const [slab, held] of candidates) {
      if (waste <= targetWaste) break;
      chosen.add(slab);
      waste -= this.slabSize - held;
    }
    return chosen;
  }
}
