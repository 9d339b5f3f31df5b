import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HOT_COPY_TTL_MS } from '../../src/cache/hot-copies.js';
import { waitFor } from '../helpers/processes.js';
import { ownerOf, viaCache, webClusterForSuite } from '../helpers/web.js';

const RING = { protocol: 'koorde' as const, degree: 4, idBits: 64, successors: 8 };

interface OwnerFigures {
  cache: { hits: number; misses: number };
  hotspots: { count: number; urls: { url: string; rate: number }[] };
}

describe('web cache - hot keys spread across entry nodes', () => {
  // A slow decay keeps the URL hot however slowly a loaded machine gets the requests out.
  const cluster = webClusterForSuite(5, { ...RING, env: { CACHE_HOTSPOT_THRESHOLD: '20', CACHE_HOTSPOT_DECAY: '0.95' } });

  it('a hammered URL turns hot, entry nodes answer HIT-HOT, and the owner sees a small share of the requests', async () => {
    // The query stands for a client's token: the hot lists must not show it.
    const url = `${cluster.origin}/obj/hot?token=secret-token`;
    const ownerAddr = await ownerOf(cluster.nodes, url, RING.idBits);
    const owner = cluster.nodes.find((n) => n.addr === ownerAddr)!;
    const entries = cluster.nodes.filter((n) => n !== owner);
    const figures = async (): Promise<OwnerFigures> => (await (await fetch(`${owner.http}/metrics`)).json()) as OwnerFigures;
    const servedByOwner = (f: OwnerFigures) => f.cache.hits + f.cache.misses;

    // Phase 1: below the threshold every request reaches the owner.
    const start = await figures();
    for (let i = 0; i < 15; i++) await viaCache(entries[i % entries.length]!, url);
    const cold = servedByOwner(await figures()) - servedByOwner(start);
    assert.equal(cold, 15, 'every request of the cold phase was served by the owner');

    // Phase 2: past the threshold the owner marks it hot; entries keep copies.
    for (let i = 0; i < 20; i++) await viaCache(entries[i % entries.length]!, url);
    const hot = await figures();
    assert.deepEqual(hot.hotspots.urls.map((u) => u.url), [`${cluster.origin}/obj/hot`], 'the owner lists the URL as hot, without its query');
    await waitFor('the hot URL in /cluster', async () => (await (await fetch(`${owner.http}/cluster`)).text()).includes('/obj/hot'));
    assert.doesNotMatch(await (await fetch(`${owner.http}/cluster`)).text(), /secret-token/);

    const before = servedByOwner(hot);
    const answers = [];
    const started = Date.now();
    for (let i = 0; i < 100; i++) answers.push(await viaCache(entries[i % entries.length]!, url));
    // Each entry fetches its copy once per copy lifetime; a slow (loaded) machine sees more lifetimes.
    const refetches = entries.length * Math.ceil((Date.now() - started) / HOT_COPY_TTL_MS);
    const servedHere = servedByOwner(await figures()) - before;
    const hotHits = answers.filter((a) => a.xCache === 'HIT-HOT').length;
    assert.ok(hotHits >= 100 - refetches, `${hotHits} of 100 requests were HIT-HOT (at most ${refetches} copy fetches)`);
    assert.ok(servedHere <= refetches, `the owner served ${servedHere} of the 100 hot-phase requests, against every one while cold`);
    const sample = answers.find((a) => a.xCache === 'HIT-HOT')!;
    assert.equal(sample.headers.get('x-responsible-node'), ownerAddr);
    assert.equal(sample.headers.get('x-hops'), '0');
    assert.match(sample.headers.get('cache-status')!, /hit; .*detail=hot-copy/);
  });
});
