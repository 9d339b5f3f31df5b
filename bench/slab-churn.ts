/**
 * node --import tsx bench/slab-churn.ts [object bytes, default 1024] — how many entries a 64 MB
 * ObjectStore keeps, how much slab waste it counts and its hit ratio, under a hot set and one-off
 * misses mixed: 1.5 million requests, 70 % drawn from a Zipf(1.0) over 300 000 URLs, 30 % for a URL
 * never seen before. Hits reorder recency, so evictions leave holes in slabs that still hold hot
 * entries: what the slab size and the packing limit (slab-arena.ts) cost in entries and hits. In
 * process, no network; a fixed seed, so two builds see the same requests.
 */
import { evaluate } from '../src/cache/freshness.js';
import { ObjectStore } from '../src/cache/object-store.js';
import { IdSpace } from '../src/id/id-space.js';
import { seededRng } from '../src/runtime/rng.js';
import { Zipf } from '../src/workload/zipf.js';

const MIB = 1024 * 1024;
const REQUESTS = 1_500_000;
const objectBytes = Number(process.argv[2] ?? 1024);
if (!Number.isInteger(objectBytes) || objectBytes <= 0) throw new Error('the object size is a positive integer of bytes');

const store = new ObjectStore(64 * MIB, new IdSpace(66));
const { policy } = evaluate({}, 200, {}, { targets: [], defaultTtlSeconds: 3600 });
const zipf = new Zipf(300_000, 1.0);
const rng = seededRng(12345);

let hits = 0;
const started = performance.now();
for (let n = 0; n < REQUESTS; n++) {
  const url = rng.next() < 0.3 ? `http://o/once-${n}` : `http://o/${zipf.sample(rng)}`;
  if (store.find(url, {})) hits++;
  else store.put({ url, status: 200, headers: {}, body: Buffer.alloc(objectBytes, 1), policy, selectedBy: {} });
}
const result = {
  object_bytes: objectBytes,
  requests: REQUESTS,
  entries: store.entryCount,
  arena_waste_mb: Number((store.arenaWasteBytes / MIB).toFixed(1)),
  size_mb: Number((store.sizeBytes / MIB).toFixed(1)),
  evictions: store.evictions,
  hit_ratio: Number((hits / REQUESTS).toFixed(3)),
  elapsed_ms: Math.round(performance.now() - started),
};
process.stdout.write(JSON.stringify(result) + '\n');
