import type CachePolicy from 'http-cache-semantics';
import { headerText, type Headers } from './freshness.js';

/**
 * What one stored variant costs the heap besides its URL, header and body bytes: the
 * http-cache-semantics policy object, the variant and its array, the LRU's slots, the Buffer and
 * ArrayBuffer objects of the body. Measured, not guessed: `node --expose-gc --import tsx
 * bench/entry-cost.ts` (40 000 entries, garbage collected before each reading) on Node 20.20
 * reports 1064 B fixed and 131 B per header (README: Memory and sizing).
 */
export const ENTRY_FIXED_BYTES = 1064;

/**
 * One header beyond its name and value bytes: a slot in the variant's header map and one in the
 * policy's, and the value's string object. Same measurement.
 */
export const HEADER_FIELD_BYTES = 131;

/**
 * Bytes an entry holds in the heap, as the byte budget counts them: measured overhead plus the
 * URL, every header of the variant and of the request headers its policy keeps (only when the
 * response has Vary), and the body's whole allocation.
 */
export function entryBytes(v: { readonly url: string; readonly headers: Headers; readonly body: Buffer; readonly policy: CachePolicy }): number {
  let bytes = ENTRY_FIXED_BYTES + v.url.length + v.body.buffer.byteLength;
  bytes += headerBytes(v.headers);
  const kept = v.policy.toObject().reqh;
  if (kept) bytes += headerBytes(kept);
  return bytes;
}

function headerBytes(headers: Headers): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(headers)) bytes += HEADER_FIELD_BYTES + name.length + headerText(value).length;
  return bytes;
}

/**
 * The body in an allocation of its own. A small Buffer is often a slice of a shared slab (Node's
 * 8 KiB pool, a concatenated or decoded message): kept for hours, it would pin the whole slab.
 */
export function ownAllocation(body: Buffer): Buffer {
  if (body.byteOffset === 0 && body.buffer.byteLength === body.length) return body;
  const own = Buffer.allocUnsafeSlow(body.length);
  body.copy(own);
  return own;
}
