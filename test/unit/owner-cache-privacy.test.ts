import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { variantToWire } from '../../src/cache/cache-wire.js';
import { HotKeys } from '../../src/cache/hot-keys.js';
import { ObjectStore } from '../../src/cache/object-store.js';
import { OwnerCache, type CacheRequest, type OriginFetcher } from '../../src/cache/owner-cache.js';
import { IdSpace } from '../../src/id/id-space.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';

const TOKEN = 'Bearer secret-token-123';
const COOKIE = 'session=secret-cookie-456';

/** An origin that answers every request with `headers` and a body naming who asked. */
function origin(headers: Record<string, string | string[]>): OriginFetcher & { calls: number } {
  const fake = {
    calls: 0,
    async fetch(req: Parameters<OriginFetcher['fetch']>[0]) {
      fake.calls++;
      return { status: 200, headers, body: Buffer.from(`for ${req.headers.authorization ?? 'anonymous'}`), url: req.url.href };
    },
  };
  return fake;
}

function owner(fetcher: OriginFetcher, storeSetCookie = false): OwnerCache {
  const clock = new VirtualClock();
  return new OwnerCache(new ObjectStore(1 << 20, new IdSpace(66)), fetcher, new HotKeys(clock, 1000, 0.65), { defaultTtlSeconds: 3600, storeSetCookie }, new AbortController().signal);
}

const request = (url: string, headers: Record<string, string> = {}): CacheRequest => ({ url, method: 'GET', headers });

describe('cache - private and cookie responses', () => {
  it('an authorised request without Cache-Control is not stored, and an anonymous client never gets its answer', async () => {
    const fake = origin({ 'content-type': 'text/plain' });
    const cache = owner(fake);
    const url = 'http://o.test/account';
    const first = await cache.serve(request(url, { authorization: TOKEN }));
    assert.equal(first.stored, false, 'the default TTL does not apply to an authorised request');
    const anonymous = await cache.serve(request(url));
    assert.equal(anonymous.outcome, 'MISS');
    assert.equal(anonymous.body.toString(), 'for anonymous');
    assert.equal(fake.calls, 2);
  });

  it('an authorised response that says public, s-maxage or must-revalidate is stored', async () => {
    for (const cc of ['public, max-age=60', 's-maxage=60', 'must-revalidate, max-age=60']) {
      const cache = owner(origin({ 'cache-control': cc }));
      assert.equal((await cache.serve(request('http://o.test/shared', { authorization: TOKEN }))).stored, true, cc);
    }
  });

  it('a response with Set-Cookie is passed to its client and not stored; CACHE_STORE_SET_COOKIE stores it', async () => {
    const headers = { 'cache-control': 'public, max-age=600', 'set-cookie': ['a=1', 'b=2'] };
    const fake = origin(headers);
    const cache = owner(fake);
    const first = await cache.serve(request('http://o.test/login'));
    assert.deepEqual(first.headers['set-cookie'], ['a=1', 'b=2'], 'the client that asked gets its cookie');
    assert.equal(first.stored, false);
    const second = await cache.serve(request('http://o.test/login'));
    assert.equal(second.outcome, 'MISS');
    assert.equal(fake.calls, 2);
    for (const cc of ['public, max-age=600', 'max-age=600']) {
      const optedIn = owner(origin({ ...headers, 'cache-control': cc }), true);
      assert.equal((await optedIn.serve(request('http://o.test/login'))).stored, true, cc);
      assert.equal((await optedIn.serve(request('http://o.test/login'))).outcome, 'HIT', cc);
    }
  });

  it('a cookie set on a 304 revalidation reaches that client only', async () => {
    const answers = [
      { status: 200, headers: { 'cache-control': 'max-age=0', etag: '"v1"' } as Record<string, string>, body: Buffer.from('body'), url: 'http://o.test/r' },
      { status: 304, headers: { 'set-cookie': 'session=revalidator', etag: '"v1"' }, body: Buffer.alloc(0), url: 'http://o.test/r' },
    ];
    const cache = owner({ fetch: async () => answers.shift() ?? { status: 304, headers: { etag: '"v1"' }, body: Buffer.alloc(0), url: 'http://o.test/r' } });
    assert.equal((await cache.serve(request('http://o.test/r'))).stored, true);
    const revalidated = await cache.serve(request('http://o.test/r'));
    assert.equal(revalidated.outcome, 'REVALIDATED');
    assert.equal(revalidated.headers['set-cookie'], 'session=revalidator');
    assert.equal(cache.store.all()[0]![0]!.headers['set-cookie'], undefined, 'the stored copy has no cookie');
    assert.equal((await cache.serve(request('http://o.test/r'))).headers['set-cookie'], undefined, 'the next client gets none');
  });

  it('a stored policy and its hand-off payload carry no Authorization or Cookie', async () => {
    const cache = owner(origin({ 'cache-control': 'public, max-age=600', vary: 'accept-language' }));
    const url = 'http://o.test/varied';
    const served = await cache.serve(request(url, { authorization: TOKEN, cookie: COOKIE, 'accept-language': 'en' }));
    assert.equal(served.stored, true);
    const payload = JSON.stringify(cache.store.all().flat().map(variantToWire));
    assert.ok(payload.includes('accept-language'), 'the Vary selector is there');
    assert.doesNotMatch(payload, /secret-token|secret-cookie/);
    const hit = await cache.serve(request(url, { 'accept-language': 'en' }));
    assert.equal(hit.outcome, 'HIT', 'the redacted policy still selects and serves the variant');
  });

  it('a response that varies on Authorization or Cookie is not stored', async () => {
    for (const vary of ['Authorization', 'cookie', 'accept, Cookie']) {
      const cache = owner(origin({ 'cache-control': 'public, max-age=600', vary }));
      assert.equal((await cache.serve(request('http://o.test/per-user', { authorization: TOKEN, cookie: COOKIE }))).stored, false, vary);
    }
  });
});
