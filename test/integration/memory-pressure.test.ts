import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SyntheticOrigin } from '../../src/synthetic/origin-server.js';
import { startNodes, type TestNode } from '../helpers/node-cluster.js';
import { ProcessGroup, waitFor } from '../helpers/processes.js';
import { viaCache } from '../helpers/web.js';

const MIB = 1024 * 1024;
/** Above a fresh node's resident memory, far below what the miss storm would store. */
const LIMIT_MB = 140;

interface Figures {
  cache: { memory_limit_bytes: number; rss_bytes: number; pressure_evictions: number; evictions: number; entry_count: number };
}

describe('memory - a node at its memory ceiling', () => {
  const group = new ProcessGroup();
  const origin = new SyntheticOrigin({ port: 0 });
  const cluster = { origin: '', nodes: [] as TestNode[] };
  before(async () => {
    cluster.origin = await origin.listen();
    // A ring of one. The byte budget alone would let the store grow to 512 MB: only the ceiling holds it back.
    const env = { CACHE_ORIGIN_ALLOWLIST: '127.0.0.1', CACHE_CAPACITY_MB: '512', CACHE_MEMORY_LIMIT_MB: String(LIMIT_MB) };
    cluster.nodes = await startNodes(group, 1, { protocol: 'koorde', degree: 4, idBits: 64, env });
    await waitFor('the node READY', async () => (await fetch(`${cluster.nodes[0]!.http}/health`)).ok);
  });
  after(async () => {
    await group.stopAll();
    await origin.close();
  });

  it('keeps serving a miss storm by evicting, and reports the pressure evictions in /metrics', async () => {
    const node = cluster.nodes[0]!;
    const figures = async () => (await (await fetch(`${node.http}/metrics`)).json()) as Figures;
    assert.equal((await figures()).cache.memory_limit_bytes, LIMIT_MB * MIB);

    // Distinct 256 KiB objects, four at a time, until the guard has had to act (at most ~1 GB).
    let next = 0;
    const statuses = new Map<number, number>();
    const storm = async () => {
      for (;;) {
        const f = await figures();
        if (f.cache.pressure_evictions > 0 || next >= 4000) return;
        const batch = Array.from({ length: 4 }, () => viaCache(node, `${cluster.origin}/obj/storm-${next++}?size=${256 * 1024}`));
        for (const answer of await Promise.all(batch)) statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      }
    };
    await storm();
    assert.deepEqual([...statuses.keys()], [200], `every request of the storm was answered: ${JSON.stringify([...statuses])}`);
    const after = await figures();
    assert.ok(after.cache.pressure_evictions > 0, `no pressure eviction after ${next} objects (rss ${after.cache.rss_bytes})`);
    assert.ok(after.cache.evictions >= after.cache.pressure_evictions, 'pressure evictions are evictions too');
    assert.ok(after.cache.entry_count < next, 'the store holds fewer objects than were stored');

    // Still serving, and still storing: a new object is fetched and then hit.
    const url = `${cluster.origin}/obj/after-the-storm`;
    assert.equal((await viaCache(node, url)).status, 200);
    await waitFor('a hit on the object stored after the storm', async () => (await viaCache(node, url)).xCache === 'HIT-LOCAL');
    const prometheus = await (await fetch(`${node.http}/metrics?format=prometheus`)).text();
    assert.match(prometheus, /^koorde_cache_pressure_evictions_total [1-9]\d*$/m);
    assert.match(prometheus, new RegExp(`^koorde_cache_memory_limit_bytes ${LIMIT_MB * MIB}$`, 'm'));
  });
});
