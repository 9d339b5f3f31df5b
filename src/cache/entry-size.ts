import type { StoredVariant } from './stored-variant.js';

/**
 * What one stored variant costs the heap besides its URL, header and body bytes: the compact
 * variant (stored-variant.ts) with its freshness numbers, the LRU's slots, the body's Buffer view.
 * Measured, not guessed: `node --expose-gc --import tsx bench/entry-cost.ts` (40 000 entries with
 * 1 KiB bodies packed into slabs, garbage collected before each reading) on Node 20.20 reports
 * 193 B fixed and 52 B per header for entries made in place, every header value of its own. A
 * store filled the way a node fills it (local origin, origin client, owner) holds 1 691 B of heap
 * and slab per entry where this budget counts 2 018 B: stored lists share the header strings
 * responses repeat (stored-variant.ts), which the budget still counts in every entry, since an
 * origin whose values are all distinct gets no such saving. The constant was measured (195 + 265)
 * while each origin fetch also left two WeakRefs on the node's shutdown signal (AbortSignal.any,
 * since replaced), and an entry costs resident memory more than its live heap anyway: between two
 * collections V8 keeps garbage and room to grow, and bench:memory sees RSS grow by 1.00 MB per MB
 * of capacity between 64 and 256 MB with 1 KiB objects. With a full http-cache-semantics policy
 * object per entry it was 1064 B and 131 B (README: Memory and sizing).
 */
export const ENTRY_FIXED_BYTES = 460;

/**
 * One header beyond its name and value bytes: two slots of the header list and the value's
 * string object. Same measurement.
 */
export const HEADER_FIELD_BYTES = 50;

/**
 * What a Buffer with an allocation of its own costs outside the heap besides its bytes: the
 * backing store, its bookkeeping and malloc's header and rounding. Bodies packed into shared
 * slabs (body-arena.ts) do not pay it. Measured by bench/entry-cost.ts (resident memory not
 * explained by the heap or the ArrayBuffer bytes, 40 000 1 KiB Buffers): 229–248 B on Node 20.20.
 */
export const BUFFER_ALLOCATION_BYTES = 240;

/**
 * Bytes an entry holds, as the byte budget counts them: measured overhead plus the URL, every
 * stored header, the Vary selection, and the body: its bytes when `packed` in a shared slab (whose unused memory the
 * store counts apart), else its whole allocation and that allocation's own cost.
 */
export function entryBytes(v: StoredVariant, packed: boolean): number {
  let bytes = ENTRY_FIXED_BYTES + v.url.length + (packed ? v.body.length : v.body.buffer.byteLength + BUFFER_ALLOCATION_BYTES);
  const list = v.headerList;
  for (let i = 0; i < list.length; i += 2) bytes += HEADER_FIELD_BYTES + list[i]!.length + list[i + 1]!.length;
  for (const name in v.selectedBy) bytes += HEADER_FIELD_BYTES + name.length + v.selectedBy[name]!.length;
  return bytes;
}
