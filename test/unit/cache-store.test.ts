import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalUrl } from '../../src/cache/cache-key.js';
import { evaluate, type Headers } from '../../src/cache/freshness.js';
import { HotKeys } from '../../src/cache/hot-keys.js';
import { MAX_VARIANTS_PER_URL, ObjectStore, varySelection } from '../../src/cache/object-store.js';
import { worthStoring } from '../../src/cache/rfc9111/policy.js';
import type { Variant } from '../../src/cache/stored-variant.js';
import { RouteCache } from '../../src/cache/route-cache.js';
import { IdSpace } from '../../src/id/id-space.js';
import { LogHistogram } from '../../src/runtime/histogram.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';

const ids = new IdSpace(66);

function variant(url: string, bodyBytes: number, headers: Headers = {}, request: Headers = {}): Variant {
  const { policy } = evaluate(request, 200, headers, { targets: [], defaultTtlSeconds: 3600 });
  return { url, status: 200, headers, body: Buffer.alloc(bodyBytes, 1), policy, selectedBy: varySelection(headers, request) ?? {} };
}

describe('cache - canonical URLs', () => {
  it('lower-cases scheme and host, drops default ports and fragments, keeps the query', () => {
    assert.equal(canonicalUrl('HTTP://Example.COM:80/a/b?x=1&y=2#frag').href, 'http://example.com/a/b?x=1&y=2');
    assert.equal(canonicalUrl('https://example.com:443/').href, 'https://example.com/');
    assert.equal(canonicalUrl('http://example.com:8080/').href, 'http://example.com:8080/');
  });

  it('rejects what is not an absolute http(s) URL with ERR_INVALID_ARGUMENT', () => {
    for (const bad of [undefined, '', 'not a url', '/relative', 'ftp://example.com/', 'file:///etc/passwd', 'http://user:pw@example.com/']) {
      assert.throws(() => canonicalUrl(bad), { code: 'ERR_INVALID_ARGUMENT' }, String(bad));
    }
  });
});

describe('cache - freshness rules', () => {
  const judge = (status: number, headers: Headers, defaultTtlSeconds: number) => evaluate({}, status, headers, { targets: [], defaultTtlSeconds });
  const ttlMs = (headers: Headers, defaultTtlSeconds = 600) => judge(200, headers, defaultTtlSeconds).policy.freshForMs(Date.now());
  it('gives CACHE_DEFAULT_TTL to a response that says nothing about freshness', () => {
    assert.ok(Math.abs(ttlMs({ 'content-type': 'text/plain' }) - 600_000) < 2000);
    assert.equal(worthStoring(judge(200, { 'content-type': 'text/plain' }, 600), Date.now()), true);
  });

  it('with CACHE_DEFAULT_TTL=0 stores nothing that has no freshness', () => {
    assert.equal(worthStoring(judge(200, {}, 0), Date.now()), false);
  });

  it('never overrides what the origin said: max-age, no-store, private, heuristic from Last-Modified', () => {
    assert.ok(Math.abs(ttlMs({ 'cache-control': 'max-age=5' }) - 5000) < 1000);
    assert.equal(judge(200, { 'cache-control': 'no-store' }, 600).storable, false);
    assert.equal(judge(200, { 'cache-control': 'private, max-age=60' }, 600).storable, false);
    const tenDaysAgo = new Date(Date.now() - 10 * 86_400_000).toUTCString();
    assert.ok(Math.abs(ttlMs({ 'last-modified': tenDaysAgo, date: new Date().toUTCString() }) - 86_400_000) < 5000, 'a tenth of the time since Last-Modified');
  });

  it('stores max-age=0 with a validator, for revalidation', () => {
    assert.equal(worthStoring(judge(200, { 'cache-control': 'max-age=0', etag: '"v1"' }, 600), Date.now()), true);
    assert.equal(worthStoring(judge(200, { 'cache-control': 'max-age=0' }, 600), Date.now()), false);
  });
});

describe('cache - object store', () => {
  it('keeps within its byte budget, counting headers and bodies, evicting least recently used first', () => {
    const store = new ObjectStore(10_000, ids);
    for (let i = 0; i < 5; i++) assert.ok(store.put(variant(`http://o/${i}`, 2000, { 'x-pad': 'p'.repeat(100) })));
    assert.ok(store.sizeBytes <= 10_000);
    assert.ok(store.evictions >= 1, 'headers and overhead count too, so five 2000-byte bodies do not fit');
    assert.equal(store.find('http://o/0', {}), undefined, 'the oldest went first');
    assert.ok(store.find('http://o/4', {}));
  });

  it('refuses an object larger than the whole budget', () => {
    assert.equal(new ObjectStore(1000, ids).put(variant('http://o/big', 5000)), false);
  });

  it('keeps one variant per value of the headers Vary names', () => {
    const store = new ObjectStore(1_000_000, ids);
    store.put(variant('http://o/v', 10, { vary: 'Accept-Language' }, { 'accept-language': 'en' }));
    store.put(variant('http://o/v', 20, { vary: 'Accept-Language' }, { 'accept-language': 'fr' }));
    assert.equal(store.find('http://o/v', { 'accept-language': 'en' })?.body.length, 10);
    assert.equal(store.find('http://o/v', { 'accept-language': 'fr' })?.body.length, 20);
    assert.equal(store.find('http://o/v', { 'accept-language': 'de' }), undefined);
    assert.equal(store.entryCount, 1, 'variants of one URL are one entry');
    assert.equal(varySelection({ vary: '*' }, {}), undefined, 'Vary: * is never reusable');
  });

  it('lists the URLs of a key range, for hand-offs', () => {
    const store = new ObjectStore(1_000_000, ids);
    for (let i = 0; i < 50; i++) store.put(variant(`http://o/${i}`, 1));
    const all = ids.size - 1n;
    assert.equal(store.inRange(0n, all).length + store.inRange(all, 0n).length, 50);
  });
});

describe('cache - hot keys', () => {
  it('a URL turns hot when its decayed request rate passes the threshold, and cools down', async () => {
    const clock = new VirtualClock();
    const hot = new HotKeys(clock, 10, 0.5);
    let turned = 0;
    for (let i = 0; i < 12; i++) if (hot.hit('http://o/a')) turned = turned || i + 1;
    assert.equal(turned, 10);
    assert.deepEqual(hot.hot().map((h) => h.url), ['http://o/a']);
    await clock.advance(2000); // 12 × 0.5² = 3
    assert.deepEqual(hot.hot(), []);
    assert.equal(hot.hit('http://o/a'), false);
  });
});

describe('cache - route cache', () => {
  it('answers keys inside a learned range until the route expires or is forgotten', async () => {
    const clock = new VirtualClock();
    const routes = new RouteCache(new IdSpace(8), clock);
    const owner = { id: 100n, addr: 'owner:1' };
    routes.remember({ from: 50n, owner, successors: [owner] });
    assert.equal(routes.find(75n)?.owner, owner);
    assert.equal(routes.find(100n)?.owner, owner);
    assert.equal(routes.find(50n), undefined, 'the range is half-open');
    routes.forget(owner);
    assert.equal(routes.find(75n), undefined);
    routes.remember({ from: 50n, owner, successors: [owner] });
    await clock.advance(31_000);
    assert.equal(routes.find(75n), undefined);
  });
});

describe('runtime - log histogram', () => {
  it('gives quantiles within 2 %', () => {
    const h = new LogHistogram();
    for (let v = 1; v <= 1000; v++) h.record(v);
    assert.ok(Math.abs(h.quantile(0.5) - 500) / 500 < 0.02);
    assert.ok(Math.abs(h.quantile(0.99) - 990) / 990 < 0.02);
    assert.equal(h.max, 1000);
    assert.equal(h.count, 1000);
  });
});

describe('cache - variants per URL', () => {
  it(`keeps at most ${MAX_VARIANTS_PER_URL} variants of a URL, dropping the oldest`, () => {
    const store = new ObjectStore(1 << 24, ids);
    const url = 'http://o/varied';
    const vary = { vary: 'x-anything', 'cache-control': 'max-age=60' };
    for (let i = 0; i < MAX_VARIANTS_PER_URL + 10; i++) assert.equal(store.put(variant(url, 10, vary, { 'x-anything': String(i) })), true);
    assert.equal(store.all()[0]!.length, MAX_VARIANTS_PER_URL);
    assert.equal(store.find(url, { 'x-anything': '0' }), undefined, 'the oldest went');
    assert.ok(store.find(url, { 'x-anything': String(MAX_VARIANTS_PER_URL + 9) }), 'the newest stayed');
  });
});
