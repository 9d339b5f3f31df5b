/**
 * node --expose-gc --import tsx bench/entry-cost.ts — what one stored entry really costs the heap
 * beyond its URL and its stored bytes (field lines and body): the compact variant, the LRU
 * bookkeeping and the Buffer view. Fills an ObjectStore the way the owner does (policy from the
 * origin's headers, forwardable headers kept apart), with garbage collected before each reading,
 * for two header counts: a field is bytes in the slab, so per_header_bytes (its cost beyond
 * them) should be near nothing. Then the same count again the way a node really fills its store
 * (a local origin, the origin client, the owner): its heap per entry against what the budget
 * counts. ENTRY_FIXED_BYTES (src/cache/entry-size.ts) is larger than this live heap: it is the
 * resident memory an entry adds, which `npm run bench:memory` measures (V8's garbage and room to
 * grow come with the live heap). Last, what a Buffer with an allocation of its own costs outside the
 * heap (backing store, malloc): resident memory not explained by the heap or the ArrayBuffer
 * bytes, BUFFER_ALLOCATION_BYTES. 1 KiB bodies are packed into shared slabs, so the entry figures
 * are those of packed entries; the slabs' unused memory is in through_owner.
 */
import { evaluate, type Headers } from '../src/cache/freshness.js';
import { ObjectStore } from '../src/cache/object-store.js';
import type { Variant } from '../src/cache/stored-variant.js';
import { HotKeys } from '../src/cache/hot-keys.js';
import { OriginClient } from '../src/cache/origin/origin-client.js';
import { OriginPolicy } from '../src/cache/origin/address-policy.js';
import { OwnerCache } from '../src/cache/owner-cache.js';
import { IdSpace } from '../src/id/id-space.js';
import { wallClock } from '../src/runtime/clock.js';
import { SyntheticOrigin } from '../src/synthetic/origin-server.js';

const ENTRIES = 40_000;
const BODY_BYTES = 1024;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

function heapBytes(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Headers like an origin's, every value a string of its own as a parser would make it. */
const NOW = new Date().toUTCString();

function originHeaders(i: number, extra: number): Headers {
  const h: Headers = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': `${BODY_BYTES}`,
    'cache-control': 'public, max-age=300',
    etag: `"${i.toString(16).padStart(16, '0')}"`,
    'last-modified': `Mon, 01 Jan 2024 00:00:${String(i % 60).padStart(2, '0')} GMT`,
    // Made now, as an origin's answer is: an old Date would make every entry stale on arrival.
    date: NOW,
  };
  for (let x = 0; x < extra; x++) h[`x-extra-${x}`] = `value-${i}-${x}`;
  return h;
}

function measure(extraHeaders: number): { perEntry: number; payload: number; headers: number } {
  const store = new ObjectStore(1 << 30, new IdSpace(66));
  const before = heapBytes();
  let payload = 0;
  let headerCount = 0;
  for (let i = 0; i < ENTRIES; i++) {
    const url = `http://127.0.0.1:9000/obj/${i}?size=${BODY_BYTES}`;
    const raw = { ...originHeaders(i, extraHeaders), connection: 'keep-alive', 'keep-alive': 'timeout=60' };
    const headers = originHeaders(i, extraHeaders);
    const { policy } = evaluate({}, 200, raw, { targets: [], defaultTtlSeconds: 3600 });
    const body = Buffer.alloc(BODY_BYTES, i % 251);
    const variant: Variant = { url, status: 200, headers, body, policy, selectedBy: {} };
    store.put(variant);
    // The stored bytes: the field lines (the Content-Length and Date the store writes included) and the body.
    payload += url.length + store.find(url, {})!.bytes.length;
    headerCount += Object.keys(headers).length;
  }
  const after = heapBytes();
  if (store.entryCount !== ENTRIES) throw new Error(`stored ${store.entryCount} of ${ENTRIES}`);
  return { perEntry: (after - before - payload) / ENTRIES, payload: payload / ENTRIES, headers: headerCount / ENTRIES };
}

/** Heap per entry and accounted bytes per entry, filling through the owner from a local origin. */
async function throughOwner(): Promise<{ heap: number; accounted: number }> {
  const origin = new SyntheticOrigin({ port: 0 });
  const base = await origin.listen();
  try {
    const store = new ObjectStore(1 << 30, new IdSpace(66));
    const client = new OriginClient({ policy: new OriginPolicy([]), gatewayOrigin: new URL(base) });
    // Hot-key tracking is bounded (not per entry): a threshold nothing reaches, the URLs tracked before the reading.
    const owner = new OwnerCache(store, client, new HotKeys(wallClock, Number.MAX_VALUE, 0.5), { defaultTtlSeconds: 3600, storeSetCookie: false }, new AbortController().signal);
    const fill = async (prefix: string, count: number) => {
      for (let i = 0; i < count; i += 16) await Promise.all(Array.from({ length: 16 }, (_, j) => owner.serve({ url: `${base}/${prefix}/${i + j}?size=${BODY_BYTES}`, method: 'GET', headers: {} })));
    };
    await fill('warm', 10_016);
    const before = heapBytes();
    const accountedBefore = store.sizeBytes;
    await fill('obj', ENTRIES);
    const after = heapBytes();
    return { heap: (after - before) / ENTRIES, accounted: (store.sizeBytes - accountedBefore) / ENTRIES };
  } finally {
    await origin.close();
  }
}

/** Resident memory per Buffer of its own beyond its bytes and the V8 heap. */
function bufferAllocationBytes(): number {
  const outside = () => {
    gc!();
    gc!();
    const m = process.memoryUsage();
    return m.rss - m.heapUsed - m.arrayBuffers;
  };
  const before = outside();
  // Written to, so that their pages are resident as a stored body's are.
  const kept = Array.from({ length: ENTRIES }, (_, i) => Buffer.allocUnsafeSlow(BODY_BYTES).fill(i));
  const after = outside();
  if (kept.length !== ENTRIES) throw new Error('lost the buffers');
  return (after - before) / ENTRIES;
}

const ownAllocation = bufferAllocationBytes(); // first, while the heap is still small and steady
measure(0); // warm-up: code, shapes and string tables settle
const few = measure(0);
const many = measure(10);
const perHeader = (many.perEntry - few.perEntry) / (many.headers - few.headers);
const fixed = few.perEntry - perHeader * few.headers;
const real = await throughOwner();
process.stdout.write(
  JSON.stringify(
    {
      entries: ENTRIES,
      body_bytes: BODY_BYTES,
      overhead_per_entry: { [`${few.headers}_headers`]: Math.round(few.perEntry), [`${many.headers}_headers`]: Math.round(many.perEntry) },
      per_header_bytes: Math.round(perHeader),
      fixed_bytes: Math.round(fixed),
      payload_per_entry: { [`${few.headers}_headers`]: Math.round(few.payload), [`${many.headers}_headers`]: Math.round(many.payload) },
      buffer_allocation_bytes: Math.round(ownAllocation),
      through_owner: { heap_per_entry: Math.round(real.heap), accounted_per_entry: Math.round(real.accounted), shortfall_bytes: Math.round(real.heap - real.accounted) },
    },
    null,
    2,
  ) + '\n',
);
