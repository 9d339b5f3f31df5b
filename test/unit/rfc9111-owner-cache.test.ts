import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { loadSettings } from '../../src/config/load.js';
import { DhtError } from '../../src/errors.js';
import type { Headers } from '../../src/cache/freshness.js';
import { HotKeys } from '../../src/cache/hot-keys.js';
import { ObjectStore } from '../../src/cache/object-store.js';
import { OwnerCache, type CacheRequest, type OriginFetcher } from '../../src/cache/owner-cache.js';
import { IdSpace } from '../../src/id/id-space.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';

const URL_A = 'http://o.test/a';
const BODY = Buffer.from('the stored body');
const NOW = 1_750_000_000_000;

type Answer = { status: number; headers: Headers; body?: Buffer } | Error;

/** An origin that answers with `answer(request headers)` and records what it was asked. */
function origin(answer: (headers: Record<string, string>) => Answer) {
  const asked: Record<string, string>[] = [];
  const fetcher: OriginFetcher = {
    fetch: async (req) => {
      asked.push(req.headers);
      const a = answer(req.headers);
      if (a instanceof Error) throw a;
      return { status: a.status, headers: a.headers as Record<string, string>, body: a.body ?? (a.status === 304 ? Buffer.alloc(0) : BODY), url: req.url.href };
    },
  };
  return { fetcher, asked };
}

function ownerCache(fetcher: OriginFetcher, targetedCacheControl?: string): OwnerCache {
  const init = { defaultTtlSeconds: 3600, storeSetCookie: false, targetedCacheControl };
  return new OwnerCache(new ObjectStore(1 << 20, new IdSpace(66)), fetcher, new HotKeys(new VirtualClock(), 1000, 0.65), init, new AbortController().signal);
}

const get = (headers: Record<string, string> = {}): CacheRequest => ({ url: URL_A, method: 'GET', headers });
const date = () => new Date(Date.now()).toUTCString();
const originDown = () => new DhtError('ERR_ORIGIN_FAILED', 'connection refused');

describe('RFC 9111 at the owner', () => {
  beforeEach(() => mock.timers.enable({ apis: ['Date'], now: NOW }));
  afterEach(() => mock.timers.reset());

  it('§3.5: an answer to a request with Cookie is shared only when it says public, s-maxage or must-revalidate itself', async () => {
    const { fetcher } = origin((headers) => ({ status: 200, headers: { date: date(), 'cache-control': headers['x-say'] ?? 'max-age=60' } }));
    const cache = ownerCache(fetcher);
    const withCookie = (say?: string): CacheRequest => ({ url: `${URL_A}/${say ?? 'plain'}`, method: 'GET', headers: { cookie: 'session=alice', ...(say ? { 'x-say': say } : {}) } });
    assert.equal((await cache.serve(withCookie())).stored, false, 'max-age alone: made for this user');
    assert.equal((await cache.serve(get())).stored, true, 'the same answer without a cookie is shared');
    for (const say of ['public, max-age=60', 's-maxage=60', 'max-age=60, must-revalidate']) assert.equal((await cache.serve(withCookie(say))).stored, true, say);
  });

  it('§3.5, §4.3.4: a request that waited for another\'s revalidation never gets that client\'s cookie or private answer', async () => {
    for (const second of [
      { status: 304, headers: { date: date(), etag: '"v1"', 'cache-control': 'max-age=60', 'set-cookie': 'sess=A' } },
      { status: 200, headers: { date: date(), 'cache-control': 'private, max-age=60' }, body: Buffer.from('for A only') },
    ]) {
      let release = () => {};
      const gate = new Promise<void>((resolve) => (release = resolve));
      let calls = 0;
      const fetcher: OriginFetcher = {
        fetch: async (req) => {
          if (++calls === 1) return { status: 200, headers: { date: date(), etag: '"v1"', 'cache-control': 'max-age=10' }, body: BODY, url: req.url.href };
          if (calls === 2) await gate; // the first revalidation waits until the second request joined it
          const a = calls === 2 ? second : { status: 304, headers: { date: date(), etag: '"v1"', 'cache-control': 'max-age=60' } };
          return { status: a.status, headers: a.headers as Record<string, string>, body: (a as { body?: Buffer }).body ?? Buffer.alloc(0), url: req.url.href };
        },
      };
      const cache = ownerCache(fetcher);
      await cache.serve(get());
      mock.timers.tick(20_000);
      const first = cache.serve(get({ cookie: 'id=a' }));
      const waiter = cache.serve(get({ cookie: 'id=b' }));
      await new Promise((resolve) => setImmediate(resolve));
      release();
      const [a, b] = await Promise.all([first, waiter]);
      assert.equal(a.status, 200, `${second.status}: the first client's answer`);
      assert.equal(b.headers['set-cookie'], undefined, `${second.status}: no Set-Cookie meant for the first client`);
      assert.notEqual(b.body.toString(), 'for A only', `${second.status}: no private body meant for the first client`);
    }
  });

  it('§5.2, RFC 9110 §5.3: Cache-Control on two lines is one list, stored and reused, no crash', async () => {
    const { fetcher, asked } = origin(() => ({ status: 200, headers: { date: date(), 'cache-control': ['public', 'Max-Age=60'], expires: ['0', 'x'] } }));
    const cache = ownerCache(fetcher);
    assert.equal((await cache.serve(get())).stored, true);
    mock.timers.tick(30_000);
    assert.equal((await cache.serve(get())).outcome, 'HIT');
    assert.equal(asked.length, 1);
  });

  it('§4.3.1, §4.3.4, §3.2: revalidates with If-None-Match and If-Modified-Since; a 304 with another Content-Length keeps the stored body and its length', async () => {
    const lastModified = 'Sun, 06 Nov 1994 08:49:37 GMT';
    const { fetcher, asked } = origin((h) =>
      h['if-none-match']
        ? { status: 304, headers: { date: date(), etag: '"v1"', 'cache-control': 'max-age=60', 'content-length': '999', 'x-fresh': 'yes' } }
        : { status: 200, headers: { date: date(), etag: '"v1"', 'last-modified': lastModified, 'cache-control': 'max-age=10', 'content-length': String(BODY.length) } },
    );
    const cache = ownerCache(fetcher);
    await cache.serve(get());
    mock.timers.tick(20_000);
    const revalidated = await cache.serve(get());
    assert.deepEqual({ 'if-none-match': asked[1]!['if-none-match'], 'if-modified-since': asked[1]!['if-modified-since'] }, { 'if-none-match': '"v1"', 'if-modified-since': lastModified });
    assert.equal(revalidated.outcome, 'REVALIDATED');
    assert.deepEqual(revalidated.body, BODY);
    assert.equal(revalidated.headers['content-length'], String(BODY.length));
    assert.equal(revalidated.headers['x-fresh'], 'yes', 'the 304\'s other fields update the stored ones');
    mock.timers.tick(30_000);
    assert.equal((await cache.serve(get())).outcome, 'HIT', 'fresh again for the 304\'s max-age=60');
  });

  it('§4.3.1: Last-Modified alone is a validator: If-Modified-Since, and a 304 refreshes it', async () => {
    const lastModified = 'Sun, 06 Nov 1994 08:49:37 GMT';
    const { fetcher, asked } = origin((h) =>
      h['if-modified-since'] ? { status: 304, headers: { date: date() } } : { status: 200, headers: { date: date(), 'last-modified': lastModified, 'cache-control': 'max-age=10' } },
    );
    const cache = ownerCache(fetcher);
    await cache.serve(get());
    mock.timers.tick(20_000);
    assert.equal((await cache.serve(get())).outcome, 'REVALIDATED');
    assert.equal(asked[1]!['if-modified-since'], lastModified);
    assert.equal(asked[1]!['if-none-match'], undefined);
  });

  it('§4.3.4: a 304 about another response is not applied to the stored one; the full response is fetched', async () => {
    let version = 1;
    const { fetcher } = origin((h) => (h['if-none-match'] ? { status: 304, headers: { etag: '"other"' } } : { status: 200, headers: { etag: `"v${version++}"`, 'cache-control': 'max-age=1' }, body: Buffer.from(`body ${version}`) }));
    const cache = ownerCache(fetcher);
    await cache.serve(get());
    mock.timers.tick(5_000);
    const answer = await cache.serve(get());
    assert.equal(answer.status, 200);
    assert.equal(answer.outcome, 'MISS');
    assert.equal(answer.headers.etag, '"v2"');
  });

  it('§5.2.2.2: a stale must-revalidate response is never served without revalidation, not even on origin errors', async () => {
    let up = true;
    const { fetcher } = origin(() => (up ? { status: 200, headers: { 'cache-control': 'max-age=10, must-revalidate, stale-if-error=600' } } : originDown()));
    const cache = ownerCache(fetcher);
    await cache.serve(get());
    mock.timers.tick(5_000);
    assert.equal((await cache.serve(get())).outcome, 'HIT', 'fresh: reused');
    up = false;
    mock.timers.tick(10_000);
    await assert.rejects(cache.serve(get({ 'cache-control': 'max-stale=600' })), { code: 'ERR_ORIGIN_FAILED' });
  });

  it('RFC 5861 §4: stale-if-error serves the stale copy when the origin fails', async () => {
    let up = true;
    const { fetcher } = origin(() => (up ? { status: 200, headers: { 'cache-control': 'max-age=10, stale-if-error=600' } } : originDown()));
    const cache = ownerCache(fetcher);
    await cache.serve(get());
    up = false;
    mock.timers.tick(60_000);
    assert.equal((await cache.serve(get())).outcome, 'STALE');
  });

  it('RFC 5861 §3: stale-while-revalidate answers with the stale copy at once while one revalidation refreshes it', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const asked: Record<string, string>[] = [];
    const fetcher: OriginFetcher = {
      fetch: async (req) => {
        asked.push(req.headers);
        if (req.headers['if-none-match']) await held;
        const headers = { etag: '"s"', 'cache-control': 'max-age=10, stale-while-revalidate=60' };
        return { status: req.headers['if-none-match'] ? 304 : 200, headers, body: req.headers['if-none-match'] ? Buffer.alloc(0) : BODY, url: req.url.href };
      },
    };
    const cache = ownerCache(fetcher);
    await cache.serve(get());
    mock.timers.tick(20_000);
    const answers = await Promise.all([cache.serve(get()), cache.serve(get())]);
    assert.deepEqual(answers.map((a) => a.outcome), ['UPDATING', 'UPDATING']);
    assert.deepEqual(answers[0]!.body, BODY);
    assert.equal(asked.length, 2, 'one revalidation for both');
    release();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal((await cache.serve(get())).outcome, 'HIT', 'the 304 refreshed the store');
    mock.timers.tick(100_000);
    assert.equal(asked.length, 2);
    const late = cache.serve(get());
    assert.equal(asked.length, 3, 'past the window the client waits for the revalidation');
    assert.equal((await late).outcome, 'REVALIDATED');
  });

  it('§5.2.1: request max-stale, max-age=0 and no-store', async () => {
    const { fetcher, asked } = origin(() => ({ status: 200, headers: { 'cache-control': 'max-age=10', etag: '"a"' } }));
    const cache = ownerCache(fetcher);
    await cache.serve(get());
    mock.timers.tick(15_000);
    assert.equal((await cache.serve(get({ 'cache-control': 'max-stale=10' }))).outcome, 'HIT', 'stale by 5 s, within max-stale');
    assert.equal(asked.length, 1);
    assert.equal((await cache.serve(get({ 'cache-control': 'MAX-AGE=0' }))).outcome, 'MISS', 'revalidated: the origin sent a full 200');
    assert.equal(asked.length, 2);
    const other = ownerCache(origin(() => ({ status: 200, headers: { 'cache-control': 'max-age=60' } })).fetcher);
    assert.equal((await other.serve(get({ 'cache-control': 'no-store' }))).stored, false);
  });

  it('§5.2.1.7: only-if-cached is answered from the store or with a 504, never by the origin', async () => {
    const { fetcher, asked } = origin(() => ({ status: 200, headers: { 'cache-control': 'max-age=10' } }));
    const cache = ownerCache(fetcher);
    const nothing = await cache.serve(get({ 'cache-control': 'only-if-cached' }));
    assert.equal(nothing.status, 504);
    assert.equal(nothing.originStatus, undefined);
    assert.equal(asked.length, 0);
    await cache.serve(get());
    assert.equal((await cache.serve(get({ 'cache-control': 'only-if-cached' }))).status, 200);
    mock.timers.tick(20_000);
    assert.equal((await cache.serve(get({ 'cache-control': 'only-if-cached' }))).status, 504, 'stale: not without asking the origin');
    assert.equal((await cache.serve(get({ 'cache-control': 'only-if-cached, max-stale' }))).status, 200);
    assert.equal(asked.length, 1);
  });

  it('RFC 9213: CDN-Cache-Control wins over Cache-Control for this cache and is not passed downstream', async () => {
    const { fetcher, asked } = origin(() => ({ status: 200, headers: { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=600' } }));
    const cache = ownerCache(fetcher);
    const first = await cache.serve(get());
    assert.equal(first.stored, true);
    assert.equal(first.headers['cdn-cache-control'], undefined);
    assert.equal(first.headers['cache-control'], 'no-store', 'Cache-Control is for the caches downstream');
    mock.timers.tick(300_000);
    const hit = await cache.serve(get());
    assert.equal(hit.outcome, 'HIT');
    assert.equal(hit.headers['cdn-cache-control'], undefined);
    assert.equal(asked.length, 1);
  });

  it('RFC 9213: a field named by CACHE_TARGETED_CACHE_CONTROL comes before CDN-Cache-Control; no-store, private and no-cache there count', async () => {
    const named = ownerCache(origin(() => ({ status: 200, headers: { 'koorde-cache-control': 'no-store', 'cdn-cache-control': 'max-age=600', 'cache-control': 'max-age=600' } })).fetcher, 'Koorde-Cache-Control');
    const answer = await named.serve(get());
    assert.equal(answer.stored, false);
    assert.equal(answer.headers['koorde-cache-control'], undefined);
    assert.equal(answer.headers['cdn-cache-control'], undefined);
    const priv = ownerCache(origin(() => ({ status: 200, headers: { 'cdn-cache-control': 'private', 'cache-control': 'public, max-age=600' } })).fetcher);
    assert.equal((await priv.serve(get())).stored, false);
    const noCache = origin(() => ({ status: 200, headers: { 'cdn-cache-control': 'no-cache', 'cache-control': 'max-age=600', etag: '"n"' } }));
    const cache = ownerCache(noCache.fetcher);
    await cache.serve(get());
    await cache.serve(get());
    assert.equal(noCache.asked.length, 2, 'revalidated on every use');
    assert.throws(() => loadSettings({ CACHE_TARGETED_CACHE_CONTROL: 'Surrogate-Control' }), /CACHE_TARGETED_CACHE_CONTROL/);
    assert.equal(loadSettings({ CACHE_TARGETED_CACHE_CONTROL: 'Koorde-Cache-Control' }).targetedCacheControl, 'Koorde-Cache-Control');
  });

  it('§4.1: Vary matching ignores whitespace, and the case and order of Accept-Language-style lists', async () => {
    const { fetcher, asked } = origin(() => ({ status: 200, headers: { 'cache-control': 'max-age=60', vary: 'Accept-Language, X-Flavour' } }));
    const cache = ownerCache(fetcher);
    await cache.serve(get({ 'accept-language': 'en-US, fr;q=0.5', 'x-flavour': 'a  b' }));
    assert.equal((await cache.serve(get({ 'accept-language': 'FR; q=0.5,en-us', 'x-flavour': ' a b ' }))).outcome, 'HIT');
    assert.equal((await cache.serve(get({ 'accept-language': 'de', 'x-flavour': 'a b' }))).outcome, 'MISS');
    assert.equal(asked.length, 2);
  });

  it('RFC 9110 §13.1.3: a client\'s If-Modified-Since is answered from the cache with Last-Modified alone', async () => {
    const { fetcher } = origin(() => ({ status: 200, headers: { 'cache-control': 'max-age=60', 'last-modified': 'Sun, 06 Nov 1994 08:49:37 GMT' } }));
    const cache = ownerCache(fetcher);
    await cache.serve(get());
    assert.equal((await cache.serve(get({ 'if-modified-since': 'Sun, 06 Nov 1994 08:49:37 GMT' }))).status, 304);
    assert.equal((await cache.serve(get({ 'if-modified-since': 'Sun, 06 Nov 1994 08:49:36 GMT' }))).status, 200);
    assert.equal((await cache.serve(get({ 'if-modified-since': 'not a date' }))).status, 200);
  });
});
