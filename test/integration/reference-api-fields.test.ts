import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { SyntheticOrigin } from '../../src/synthetic/origin-server.js';
import { startNodes, waitForStableRing } from '../helpers/node-cluster.js';
import { ProcessGroup, waitFor } from '../helpers/processes.js';
import { ownerOf, viaCache } from '../helpers/web.js';

const RING = { protocol: 'koorde' as const, degree: 2, idBits: 66, successors: 8 };
const json = async (url: string) => (await fetch(url)).json() as Promise<Record<string, any>>;

describe('API fields that scripts and dashboards of the original system read', () => {
  const group = new ProcessGroup();
  const origin = new SyntheticOrigin({ port: 0 });
  after(async () => {
    await group.stopAll();
    await origin.close();
  });

  it('/health, /debug, /metrics carry the reference fields, and forwarded answers say what the owner did in X-Cache-Origin', async () => {
    const base = await origin.listen();
    const nodes = await startNodes(group, 3, { ...RING, env: { CACHE_ORIGIN_ALLOWLIST: '127.0.0.1', CACHE_ROUTE_CACHE: 'false', CACHE_DEMO_ORIGIN: base } });
    await waitForStableRing(nodes, RING);
    await waitFor('nodes READY', async () => (await Promise.all(nodes.map((n) => fetch(`${n.http}/health`)))).every((r) => r.ok));
    const entry = nodes[0]!;

    const health = await json(`${entry.http}/health`);
    assert.deepEqual(
      { ...health.details, addr: undefined, predecessor: undefined },
      {
        ...health.details,
        addr: undefined,
        predecessor: undefined,
        successor_ready: true,
        successor_count: 2,
        de_bruijn_ready: true,
        de_bruijn_count: health.details.long_pointers,
        required_de_bruijn: 2,
        demo_origin: base,
      },
    );
    assert.ok(health.details.de_bruijn_count >= 1);

    const debug = await json(`${entry.http}/debug`);
    assert.deepEqual(debug.de_bruijn_list, debug.de_bruijn);
    // self, predecessor, 2 successors, the de Bruijn list: each 9 id bytes (66 bits) + its address.
    const entries = [debug.self, debug.predecessor, ...debug.successors, ...debug.de_bruijn] as { addr: string }[];
    assert.equal(debug.routing_table_bytes, entries.reduce((n, e) => n + 9 + e.addr.length, 0));

    let url = '';
    for (let i = 0; ; i++) {
      url = `${base}/obj/ref-${i}`;
      if ((await ownerOf(nodes, url)) !== entry.addr) break;
    }
    const first = await viaCache(entry, url);
    assert.equal(first.xCache, 'MISS-DHT');
    assert.equal(first.headers.get('x-cache-origin'), 'MISS-ORIGIN');
    const second = await viaCache(entry, url);
    assert.equal(second.xCache, 'HIT-DHT');
    assert.equal(second.headers.get('x-cache-origin'), 'HIT-LOCAL');
    const owner = nodes.find((n) => n.addr === first.headers.get('x-responsible-node'))!;
    const atOwner = await viaCache(owner, url);
    assert.equal(atOwner.xCache, 'HIT-LOCAL');
    assert.equal(atOwner.headers.get('x-cache-origin'), null, 'only forwarded answers carry it');

    const stats = (await json(`${entry.http}/metrics`)).routing.stats;
    for (const field of ['avg_de_bruijn_success_ms', 'avg_de_bruijn_failure_ms', 'avg_successor_fallback_ms']) assert.equal(typeof stats[field], 'number', field);
    assert.equal(stats.avg_de_bruijn_failure_ms, 0, 'no de Bruijn pointer failed in a stable ring');
    if (stats.de_bruijn_success > 0) assert.ok(stats.avg_de_bruijn_success_ms > 0);
  });
});
