import type { StoredVariant } from './stored-variant.js';

/**
 * What one stored variant costs the heap besides its URL, header and body bytes: the compact
 * variant (stored-variant.ts) with its freshness numbers, the LRU's slots, the Buffer and
 * ArrayBuffer objects of the body. Measured, not guessed: `node --expose-gc --import tsx
 * bench/entry-cost.ts` (40 000 entries, garbage collected before each reading) on Node 20.20
 * reports 280–283 B fixed and 50 B per header for entries made in place, and 263 B more per entry
 * when the store is filled the way a node fills it (local origin, origin client, owner), which is
 * what counts: 283 + 263. With a full http-cache-semantics policy per entry it was 1064 B and
 * 131 B (README: Memory and sizing).
 */
export const ENTRY_FIXED_BYTES = 546;

/**
 * One header beyond its name and value bytes: two slots of the header list and the value's
 * string object. Same measurement.
 */
export const HEADER_FIELD_BYTES = 50;

/**
 * Bytes an entry holds in the heap, as the byte budget counts them: measured overhead plus the
 * URL, every stored header, the Vary selection, and the body's whole allocation.
 */
export function entryBytes(v: StoredVariant): number {
  let bytes = ENTRY_FIXED_BYTES + v.url.length + v.body.buffer.byteLength;
  const list = v.headerList;
  for (let i = 0; i < list.length; i += 2) bytes += HEADER_FIELD_BYTES + list[i]!.length + list[i + 1]!.length;
  for (const name in v.selectedBy) bytes += HEADER_FIELD_BYTES + name.length + v.selectedBy[name]!.length;
  return bytes;
}
