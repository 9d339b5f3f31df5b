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
    const answers: { entry: string; xCache: string | null; sent: number; received: number; kept: boolean; headers: Headers }[] = [];
    for (let i = 0; i < 100; i++) {
      const entry = entries[i % entries.length]!;
      const sent = performance.now();
      const answer = await viaCache(entry, url);
      const received = performance.now();
      // Whether the entry now keeps a copy: the owner marks answers hot only while the URL's
      // decayed rate is above the threshold, which a slow machine may let it fall under.
      const kept = answer.xCache !== 'HIT-HOT' && ((await (await fetch(`${entry.http}/trace?url=${encodeURIComponent(url)}`)).json()) as { via: string }).via === 'hot-copy';
      answers.push({ entry: entry.name, xCache: answer.xCache, sent, received, kept, headers: answer.headers });
    }
    // Every answer that is not HIT-HOT went to the owner. After a fetch that left a copy, the
    // entry may go to the owner again only once the copy has expired: at least HOT_COPY_TTL_MS
    // after that fetch was sent. The bound follows what actually elapsed, however loaded the machine.
    const early: string[] = [];
    for (const entry of entries) {
      const fetches = answers.filter((a) => a.entry === entry.name && a.xCache !== 'HIT-HOT');
      for (let j = 1; j < fetches.length; j++) {
        const since = fetches[j]!.received - fetches[j - 1]!.sent;
        if (fetches[j - 1]!.kept && since < HOT_COPY_TTL_MS) early.push(`${entry.name} went to the owner ${since.toFixed(0)} ms after keeping a copy`);
      }
    }
    assert.deepEqual(early, [], 'no entry asked the owner while it held a valid copy');
    const fetched = answers.filter((a) => a.xCache !== 'HIT-HOT').length;
    const servedHere = servedByOwner(await figures()) - before;
    assert.equal(servedHere, fetched, 'the owner served exactly the copy fetches, no HIT-HOT request reached it');
    assert.ok(fetched < 100, 'some requests were HIT-HOT');
    const sample = answers.find((a) => a.xCache === 'HIT-HOT')!;
    assert.equal(sample.headers.get('x-responsible-node'), ownerAddr);
    assert.equal(sample.headers.get('x-hops'), '0');
    assert.match(sample.headers.get('cache-status')!, /hit; .*detail=hot-copy/);
  });
});
