import type { StoredVariant } from './stored-variant.js';

/**
 * What one stored variant costs the process besides its URL and its stored bytes (field lines and
 * body): the compact variant (stored-variant.ts) with its freshness numbers, the LRU's slots, and
 * the share of V8's garbage and room to grow that comes with that much live heap. Measured, not
 * guessed, in two steps on Node 20.20. Live heap: `node --expose-gc --import tsx
 * bench/entry-cost.ts` (40 000 entries with 1 KiB bodies packed into slabs, garbage collected
 * before each reading) reports 300–301 B per entry whatever the number of fields (a field costs
 * its bytes in the slab and nothing in the heap). Resident memory: `node --import tsx
 * bench/memory.ts --sizes 1024` grew RSS by 1 718–1 747 B per entry between the full 64 MB and
 * 256 MB nodes (the marginal slope, which leaves out what a node grows by once, whatever its
 * capacity; two runs), where the URL and stored bytes are 1 303 B: 415–444 B per entry beyond
 * them, so that the budget bounds what the cache really takes. With a timestamp of its own per
 * variant (a heap number) and the status and rules in fields of every variant it was 540 B
 * (live heap 348 B), with a Buffer view kept per entry 650 B (420 B), with header lists in the
 * heap 460 B + 50 B per header, and with a full http-cache-semantics policy object per entry
 * 1064 B + 131 B (README: Memory and sizing).
 */
export const ENTRY_FIXED_BYTES = 450;

/**
 * One field of a Vary selection beyond its name and value bytes: the object's slot and the
 * value's string. Measured when every stored header was kept so (bench/entry-cost.ts then
 * reported 52 B per header).
 */
export const SELECTED_FIELD_BYTES = 50;

/**
 * What a Buffer with an allocation of its own costs outside the heap besides its bytes: the
 * backing store, its bookkeeping and malloc's header and rounding. Bodies packed into shared
 * slabs (slab-arena.ts) do not pay it. Measured by bench/entry-cost.ts (resident memory not
 * explained by the heap or the ArrayBuffer bytes, 40 000 1 KiB Buffers): 229–248 B on Node 20.20.
 */
export const BUFFER_ALLOCATION_BYTES = 240;

/**
 * Bytes an entry holds, as the byte budget counts them: measured overhead plus the URL, the Vary
 * selection, and the stored bytes (field lines and body): their length when `packed` in a shared
 * slab (whose unused memory the store counts apart), else the whole allocations of the fields and
 * of the body and each allocation's own cost.
 */
export function entryBytes(v: StoredVariant, packed: boolean): number {
  let size = ENTRY_FIXED_BYTES + v.url.length + (packed ? v.bytes.length : v.memory.byteLength + v.body.buffer.byteLength + 2 * BUFFER_ALLOCATION_BYTES);
  for (const name in v.selectedBy) size += SELECTED_FIELD_BYTES + name.length + v.selectedBy[name]!.length;
  return size;
}
