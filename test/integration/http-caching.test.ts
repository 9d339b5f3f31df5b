import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SyntheticOrigin } from '../../src/synthetic/origin-server.js';
import { startNodes, waitForStableRing, type TestNode } from '../helpers/node-cluster.js';
import { ProcessGroup, waitFor } from '../helpers/processes.js';
import { originAdmin, originCount, viaCache, viaGateway, type Fetched } from '../helpers/web.js';

/**
 * RFC 9111 as a shared cache must apply it, checked in both ways clients reach the cache:
 * /cache?url=<origin URL> and gateway mode (the origin's paths on the node itself).
 */
const RING = { protocol: 'chord' as const, degree: 2, idBits: 66, successors: 8 };

describe('web cache - HTTP caching rules (RFC 9111)', () => {
  const group = new ProcessGroup();
  const origin = new SyntheticOrigin({ port: 0 });
  const strictOrigin = new SyntheticOrigin({ port: 0 });
  let base = '';
  let strictBase = '';
  let nodes: TestNode[] = [];
  let strict: TestNode;
  after(async () => {
    await group.stopAll();
    await origin.close();
    await strictOrigin.close();
  });
  before(async () => {
    base = await origin.listen();
    strictBase = await strictOrigin.listen();
    // Gateways that also serve /cache?url= (off by default in gateway mode), to test both ways in.
    nodes = await startNodes(group, 3, { ...RING, env: { CACHE_ORIGIN_ALLOWLIST: '127.0.0.1', CACHE_ORIGIN: base, CACHE_OPEN_PROXY: 'true' } });
    [strict] = await startNodes(group, 1, { ...RING, env: { CACHE_ORIGIN_ALLOWLIST: '127.0.0.1', CACHE_DEFAULT_TTL: '0' } });
    await waitForStableRing(nodes, RING);
    await waitFor('nodes READY', async () => (await Promise.all([...nodes, strict!].map((n) => fetch(`${n.http}/health`)))).every((r) => r.ok));
  });

  /** The same case through /cache?url= (mode "cache") and as a gateway path (mode "gateway"), each with its own object id. */
  const modes = {
    cache: (node: TestNode, path: string, headers: Record<string, string> = {}): Promise<Fetched> => viaCache(node, `${base}${path}`, headers),
    gateway: (node: TestNode, path: string, headers: Record<string, string> = {}): Promise<Fetched> => viaGateway(node, path, { headers }),
  };

  for (const [mode, get] of Object.entries(modes)) {
    const path = (id: string, query = '') => `/obj/${mode}-${id}${query ? `?${query}` : ''}`;

    it(`${mode}: no-store and private responses are never stored`, async () => {
      for (const cc of ['no-store', 'private, max-age=600']) {
        const p = path(cc.split(',')[0]!, `cc=${encodeURIComponent(cc)}`);
        assert.match((await get(nodes[0]!, p)).xCache!, /^MISS/);
        assert.match((await get(nodes[1]!, p)).xCache!, /^MISS/);
        assert.equal(await originCount(base, p), 2, cc);
      }
    });

    it(`${mode}: max-age=0 with an ETag is revalidated with a conditional request (304 keeps the body)`, async () => {
      const p = path('revalidate', 'cc=max-age%3D0');
      const first = await get(nodes[0]!, p);
      const second = await get(nodes[1]!, p);
      assert.equal(second.xCache, 'REVALIDATED');
      assert.equal(second.body, first.body);
      assert.match(second.headers.get('cache-status')!, /fwd=stale; fwd-status=304/);
      assert.equal(await originCount(base, p), 2, 'the second was a conditional request answered 304');
    });

    it(`${mode}: the client's own If-None-Match and If-Modified-Since are answered from the cache`, async () => {
      const p = path('conditional');
      const first = await get(nodes[0]!, p);
      const etag = first.headers.get('etag')!;
      const byTag = await get(nodes[2]!, p, { 'if-none-match': etag });
      assert.equal(byTag.status, 304);
      assert.equal(byTag.body, '');
      assert.equal(byTag.headers.get('etag'), etag);
      const byDate = await get(nodes[1]!, p, { 'if-modified-since': new Date().toUTCString() });
      assert.equal(byDate.status, 304);
      const changed = await get(nodes[1]!, p, { 'if-none-match': '"something-else"' });
      assert.equal(changed.status, 200);
      assert.equal(await originCount(base, p), 1);
    });

    it(`${mode}: s-maxage wins over max-age for a shared cache`, async () => {
      const p = path('smaxage', 'cc=max-age%3D0%2C%20s-maxage%3D600');
      await get(nodes[0]!, p);
      assert.match((await get(nodes[1]!, p)).xCache!, /^HIT/);
      assert.equal(await originCount(base, p), 1);
    });

    it(`${mode}: Expires gives freshness when Cache-Control does not`, async () => {
      const fresh = path('expires', 'cc=&expires=600');
      await get(nodes[0]!, fresh);
      assert.match((await get(nodes[1]!, fresh)).xCache!, /^HIT/);
      const past = path('expired', 'cc=&expires=-60&lm=none');
      await get(nodes[0]!, past);
      assert.match((await get(nodes[1]!, past)).xCache!, /^(MISS|REVALIDATED)/);
    });

    it(`${mode}: an Age from upstream counts against freshness`, async () => {
      const young = path('age-young', 'cc=max-age%3D600&age=100');
      await get(nodes[0]!, young);
      const hit = await get(nodes[1]!, young);
      assert.match(hit.xCache!, /^HIT/);
      assert.ok(Number(hit.headers.get('age')) >= 100, `Age ${hit.headers.get('age')}`);
      const old = path('age-old', 'cc=max-age%3D600&age=700');
      await get(nodes[0]!, old);
      assert.doesNotMatch((await get(nodes[1]!, old)).xCache!, /^HIT/, 'already older than max-age when it arrived');
    });

    it(`${mode}: Vary keeps one variant per value of the named header`, async () => {
      const p = path('vary', 'vary=accept-language');
      const en = await get(nodes[0]!, p, { 'accept-language': 'en' });
      const fr = await get(nodes[1]!, p, { 'accept-language': 'fr' });
      assert.match(fr.xCache!, /^MISS/, 'another language is another variant');
      assert.notEqual(fr.body, en.body);
      const enAgain = await get(nodes[2]!, p, { 'accept-language': 'en' });
      assert.match(enAgain.xCache!, /^HIT/);
      assert.equal(enAgain.body, en.body);
      assert.equal(await originCount(base, p), 2);
    });

    it(`${mode}: heuristic freshness from Last-Modified`, async () => {
      const p = path('heuristic', 'cc=&lm=864000&etag=none');
      await get(nodes[0]!, p);
      assert.match((await get(nodes[1]!, p)).xCache!, /^HIT/);
      assert.equal(await originCount(base, p), 1);
    });

    it(`${mode}: stale-if-error serves the stale copy while the origin is down`, async () => {
      const p = path('stale', 'cc=max-age%3D1%2C%20stale-if-error%3D600');
      const first = await get(nodes[0]!, p);
      await new Promise((resolve) => setTimeout(resolve, 1200));
      await originAdmin(base, 'fail');
      try {
        const stale = await get(nodes[1]!, p);
        assert.equal(stale.status, 200);
        assert.equal(stale.body, first.body);
        assert.match(stale.headers.get('cache-status')!, /stale-if-error/);
        const noRescue = await get(nodes[1]!, path('nostale', 'cc=max-age%3D1'));
        assert.equal(noRescue.status, 500, 'without stale-if-error the failure shows');
      } finally {
        await originAdmin(base, 'recover');
      }
    });
  }

  it('gateway: a POST passes through uncached and invalidates the cached GET', async () => {
    const p = '/obj/gateway-post';
    const first = await viaGateway(nodes[0]!, p);
    assert.match((await viaGateway(nodes[1]!, p)).xCache!, /^HIT/);
    const post = await viaGateway(nodes[2]!, p, { method: 'POST', body: 'changed', headers: { 'content-type': 'text/plain' } });
    assert.equal(post.status, 200);
    assert.equal(JSON.parse(post.body).received, 7, 'the body reached the origin');
    const after = await viaGateway(nodes[1]!, p);
    assert.match(after.xCache!, /^MISS/);
    assert.notEqual(after.body, first.body, 'the new version');
  });

  it('CACHE_DEFAULT_TTL=0 stores nothing that has no freshness information, but still what has', async () => {
    const bare = `${strictBase}/obj/bare?cc=&lm=none&etag=none`;
    await viaCache(strict!, bare);
    assert.match((await viaCache(strict!, bare)).xCache!, /^MISS/);
    assert.equal(await originCount(strictBase, '/obj/bare?cc=&lm=none&etag=none'), 2);
    const fresh = `${strictBase}/obj/fresh?cc=max-age%3D60`;
    await viaCache(strict!, fresh);
    assert.match((await viaCache(strict!, fresh)).xCache!, /^HIT/);
  });

  it('and with the default TTL, a response without freshness information is kept', async () => {
    const p = '/obj/default-ttl?cc=&lm=none&etag=none';
    await viaCache(nodes[0]!, `${base}${p}`);
    const again = await viaCache(nodes[1]!, `${base}${p}`);
    assert.match(again.xCache!, /^HIT/);
    assert.match(again.headers.get('cache-status')!, /ttl=3[56]\d\d/);
  });
});
