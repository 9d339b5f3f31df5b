/**
 * node [V8 heap flags] --import tsx bench/heap-flags.ts — what V8's heap flags do to the resident
 * memory of a full store, all else equal: one process fills an ObjectStore of CAPACITY_MB
 * (default 256) through the owner from a local origin with distinct OBJECT_BYTES (default 1024)
 * objects until it has evicted 2 000, then prints RSS, heap and ArrayBuffer figures. Run it once
 * per set of flags, one after the other, e.g. with none, `--max-old-space-size=768` and
 * `--max-old-space-size=768 --max-semi-space-size=4` (docs/benchmarks/memory.md shows the
 * whole node under the flags the StatefulSet sets).
 */
import { HotKeys } from '../src/cache/hot-keys.js';
import { ObjectStore } from '../src/cache/object-store.js';
import { OriginPolicy } from '../src/cache/origin/address-policy.js';
import { OriginClient } from '../src/cache/origin/origin-client.js';
import { OwnerCache } from '../src/cache/owner-cache.js';
import { IdSpace } from '../src/id/id-space.js';
import { wallClock } from '../src/runtime/clock.js';
import { SyntheticOrigin } from '../src/synthetic/origin-server.js';

const MIB = 1024 * 1024;
const capacityMb = Number(process.env.CAPACITY_MB ?? 256);
const objectBytes = Number(process.env.OBJECT_BYTES ?? 1024);

function figures(): Record<string, number> {
  const m = process.memoryUsage();
  return { rss_mb: m.rss / MIB, heap_total_mb: m.heapTotal / MIB, heap_used_mb: m.heapUsed / MIB, array_buffers_mb: m.arrayBuffers / MIB };
}
const rounded = (f: Record<string, number>) => Object.fromEntries(Object.entries(f).map(([k, v]) => [k, Math.round(v)]));

const origin = new SyntheticOrigin({ port: 0 });
const base = await origin.listen();
try {
  const store = new ObjectStore(capacityMb * MIB, new IdSpace(66));
  const client = new OriginClient({ policy: new OriginPolicy([]), gatewayOrigin: new URL(base) });
  // Hot-key tracking is bounded: a threshold nothing reaches.
  const owner = new OwnerCache(store, client, new HotKeys(wallClock, Number.MAX_VALUE, 0.5), { defaultTtlSeconds: 3600, storeSetCookie: false }, new AbortController().signal);
  const idle = figures();
  let next = 0;
  while (store.evictions < 2000) await Promise.all(Array.from({ length: 16 }, () => owner.serve({ url: `${base}/obj/${next++}?size=${objectBytes}`, method: 'GET', headers: {} })));
  await new Promise((resolve) => setTimeout(resolve, 3000)); // as bench:memory waits before reading
  const full = figures();
  process.stdout.write(
    JSON.stringify({ flags: process.execArgv.filter((a) => a.startsWith('--max') || a.startsWith('--heap')), capacity_mb: capacityMb, object_bytes: objectBytes, entries: store.entryCount, idle: rounded(idle), full: rounded(full) }) + '\n',
  );
} finally {
  await origin.close();
}
