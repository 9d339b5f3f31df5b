/**
 * node --expose-gc --import tsx bench/entry-cost.ts — what one stored entry really costs the heap
 * beyond its URL, header and body bytes: the http-cache-semantics policy, the header maps, the LRU
 * bookkeeping and the Buffer objects. Fills an ObjectStore the way the owner does (policy from the
 * origin's headers, forwardable headers kept apart), with garbage collected before each reading,
 * for two header counts so that the cost of one more header separates from the fixed cost.
 * The figures are the constants of src/cache/entry-size.ts.
 */
import { createPolicy, type Headers } from '../src/cache/freshness.js';
import { ObjectStore, type Variant } from '../src/cache/object-store.js';
import { IdSpace } from '../src/id/id-space.js';

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
function originHeaders(i: number, extra: number): Headers {
  const h: Headers = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': `${BODY_BYTES}`,
    'cache-control': 'public, max-age=300',
    etag: `"${i.toString(16).padStart(16, '0')}"`,
    'last-modified': `Mon, 01 Jan 2024 00:00:${String(i % 60).padStart(2, '0')} GMT`,
    date: `Mon, 01 Jan 2024 01:00:${String(i % 60).padStart(2, '0')} GMT`,
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
    const policy = createPolicy({ url, method: 'GET', headers: {} }, 200, raw, 3600);
    const body = Buffer.alloc(BODY_BYTES, i % 251);
    const variant: Variant = { url, status: 200, headers, body, policy, selectedBy: {} };
    store.put(variant);
    payload += url.length + body.length;
    for (const [name, value] of Object.entries(headers)) payload += name.length + String(value).length;
    headerCount += Object.keys(headers).length;
  }
  const after = heapBytes();
  if (store.entryCount !== ENTRIES) throw new Error(`stored ${store.entryCount} of ${ENTRIES}`);
  return { perEntry: (after - before - payload) / ENTRIES, payload: payload / ENTRIES, headers: headerCount / ENTRIES };
}

measure(0); // warm-up: code, shapes and string tables settle
const few = measure(0);
const many = measure(10);
const perHeader = (many.perEntry - few.perEntry) / (many.headers - few.headers);
const fixed = few.perEntry - perHeader * few.headers;
process.stdout.write(
  JSON.stringify(
    {
      entries: ENTRIES,
      body_bytes: BODY_BYTES,
      overhead_per_entry: { [`${few.headers}_headers`]: Math.round(few.perEntry), [`${many.headers}_headers`]: Math.round(many.perEntry) },
      per_header_bytes: Math.round(perHeader),
      fixed_bytes: Math.round(fixed),
      payload_per_entry: { [`${few.headers}_headers`]: Math.round(few.payload), [`${many.headers}_headers`]: Math.round(many.payload) },
    },
    null,
    2,
  ) + '\n',
);
