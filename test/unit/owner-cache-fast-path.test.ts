import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import type { Headers } from '../../src/cache/freshness.js';
import { variantFromWire, variantToWire } from '../../src/cache/cache-wire.js';
import { fromHeaderList } from '../../src/cache/header-list.js';
import { HotKeys } from '../../src/cache/hot-keys.js';
import { ObjectStore } from '../../src/cache/object-store.js';
import { OwnerCache, type CacheRequest, type OriginFetcher } from '../../src/cache/owner-cache.js';
import { IdSpace } from '../../src/id/id-space.js';
import { sendServed } from '../../src/http/respond.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';

const URL_A = 'http://o.test/a';
const BODY = Buffer.from('the stored body');

/** An origin that answers with `answer(request)` and records what it was asked. */
function origin(answer: (headers: Record<string, string>) => { status: number; headers: Headers }) {
  const asked: Record<string, string>[] = [];
  const fetcher: OriginFetcher = {
    fetch: async (req) => {
      asked.push(req.headers);
      const { status, headers } = answer(req.headers);
      return { status, headers: headers as Record<string, string>, body: status === 304 ? Buffer.alloc(0) : BODY, url: req.url.href };
    },
  };
  return { fetcher, asked };
}

function ownerCache(fetcher: OriginFetcher): OwnerCache {
  const clock = new VirtualClock();
  return new OwnerCache(new ObjectStore(1 << 20, new IdSpace(66)), fetcher, new HotKeys(clock, 1000, 0.65), { defaultTtlSeconds: 3600, storeSetCookie: false }, new AbortController().signal);
}

const request = (headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET', url = URL_A): CacheRequest => ({ url, method, headers });
const ETAG = '"v1"';
const cacheable = { 'content-type': 'text/plain', 'content-length': String(BODY.length), 'cache-control': 'max-age=60', etag: ETAG };

describe('cache - fast path for fresh local hits', () => {
  beforeEach(() => mock.timers.enable({ apis: ['Date'], now: 1_750_000_000_000 }));
  afterEach(() => mock.timers.reset());

  it('a fresh hit is answered from the prepared headers: status, body, Age, the origin\'s fields, asked once', async () => {
    const { fetcher, asked } = origin(() => ({ status: 200, headers: { ...cacheable, age: '10' } }));
    const cache = ownerCache(fetcher);
    assert.equal((await cache.serve(request())).outcome, 'MISS');
    mock.timers.tick(5_000);
    const hit = cache.serveFresh(request())!;
    assert.equal(hit.outcome, 'HIT');
    assert.equal(hit.status, 200);
    assert.deepEqual(hit.body, BODY);
    const seen = fromHeaderList(hit.headerList!);
    assert.equal(seen.age, '15', 'the Age it came with plus the time stored');
    assert.equal(seen.etag, ETAG);
    assert.equal(seen['content-length'], String(BODY.length));
    assert.deepEqual(hit.headers, seen, 'the map form says the same');
    assert.equal(hit.freshForMs, (60 - 15) * 1000);
    assert.equal(asked.length, 1);
  });

  it('an origin that sent no length gets one on the hit', async () => {
    const { fetcher } = origin(() => ({ status: 200, headers: { 'cache-control': 'max-age=60' } }));
    const cache = ownerCache(fetcher);
    await cache.serve(request());
    assert.equal(fromHeaderList(cache.serveFresh(request())!.headerList!)['content-length'], String(BODY.length));
  });

  it('HEAD: no body, the stored length and headers', async () => {
    const { fetcher } = origin(() => ({ status: 200, headers: cacheable }));
    const cache = ownerCache(fetcher);
    await cache.serve(request());
    const head = cache.serveFresh(request({}, 'HEAD'))!;
    assert.equal(head.body.length, 0);
    assert.equal(head.headers['content-length'], String(BODY.length));
    assert.equal(head.headers.etag, ETAG);
  });

  it('an expired variant is not served by the fast path; the full rules revalidate it with its validator', async () => {
    let revalidations = 0;
    const { fetcher, asked } = origin((h) => (h['if-none-match'] === ETAG ? (revalidations++, { status: 304, headers: { 'cache-control': 'max-age=60', etag: ETAG } }) : { status: 200, headers: cacheable }));
    const cache = ownerCache(fetcher);
    await cache.serve(request());
    mock.timers.tick(61_000);
    assert.equal(cache.serveFresh(request()), undefined, 'stale');
    const revalidated = await cache.serve(request());
    assert.equal(revalidated.outcome, 'REVALIDATED');
    assert.equal(revalidated.status, 200);
    assert.deepEqual(revalidated.body, BODY, 'the stored body');
    assert.equal(asked[1]!['if-none-match'], ETAG);
    assert.equal(revalidations, 1);
    const again = cache.serveFresh(request())!;
    assert.equal(again.headers.age, '0', 'fresh again from the 304');
  });

  it('a request with its own directives (no-cache, max-age=0, Pragma) goes to the full rules, which revalidate', async () => {
    const { fetcher, asked } = origin((h) => (h['if-none-match'] === ETAG ? { status: 304, headers: { etag: ETAG, 'cache-control': 'max-age=60' } } : { status: 200, headers: cacheable }));
    const cache = ownerCache(fetcher);
    await cache.serve(request());
    mock.timers.tick(2_000);
    const directives: Record<string, string>[] = [{ 'cache-control': 'no-cache' }, { 'cache-control': 'max-age=0' }, { pragma: 'no-cache' }];
    for (const headers of directives) {
      assert.equal(cache.serveFresh(request(headers)), undefined, JSON.stringify(headers));
      const answer = await cache.serve(request(headers));
      assert.equal(answer.outcome, 'REVALIDATED', JSON.stringify(headers));
      mock.timers.tick(2_000);
    }
    assert.equal(asked.length, 4, 'one fetch, three revalidations');
    assert.equal((await cache.serve(request({ 'cache-control': 'max-stale=5' }))).outcome, 'HIT', 'a directive that allows the stored answer still gets it');
  });

  it('a conditional request gets a 304 with the validators and no body, without asking the origin', async () => {
    const { fetcher, asked } = origin(() => ({ status: 200, headers: { ...cacheable, 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT' } }));
    const cache = ownerCache(fetcher);
    await cache.serve(request());
    const conditionals: Record<string, string>[] = [{ 'if-none-match': ETAG }, { 'if-none-match': `W/${ETAG}, "other"` }, { 'if-modified-since': 'Tue, 02 Jan 2024 00:00:00 GMT' }];
    for (const headers of conditionals) {
      assert.equal(cache.serveFresh(request(headers)), undefined);
      const answer = await cache.serve(request(headers));
      assert.equal(answer.status, 304, JSON.stringify(headers));
      assert.equal(answer.body.length, 0);
      assert.equal(answer.headers.etag, ETAG);
      assert.equal(answer.headers['content-length'], undefined);
    }
    const changed = await cache.serve(request({ 'if-none-match': '"v0"' }));
    assert.equal(changed.status, 200, 'another tag: the whole response');
    assert.equal(asked.length, 1);
  });

  it('Vary: a request that selects another variant is not served the stored one', async () => {
    const { fetcher, asked } = origin((h) => ({ status: 200, headers: { ...cacheable, vary: 'accept-encoding', 'content-encoding': h['accept-encoding'] ?? 'identity' } }));
    const cache = ownerCache(fetcher);
    await cache.serve(request({ 'accept-encoding': 'gzip' }));
    assert.equal(cache.serveFresh(request({ 'accept-encoding': 'br' })), undefined);
    const other = await cache.serve(request({ 'accept-encoding': 'br' }));
    assert.equal(other.outcome, 'MISS');
    assert.equal(other.headers['content-encoding'], 'br');
    assert.equal(cache.serveFresh(request({ 'accept-encoding': 'gzip' }))!.headers['content-encoding'], 'gzip');
    assert.equal(cache.serveFresh(request({ 'accept-encoding': 'br' }))!.headers['content-encoding'], 'br');
    assert.equal(asked.length, 2);
  });

  it('a must-revalidate response is a fresh hit while fresh (RFC 9111 §5.2.2.2); a no-cache one is revalidated on every use (§5.2.2.4)', async () => {
    const mustRevalidate = origin(() => ({ status: 200, headers: { ...cacheable, 'cache-control': 'max-age=60, must-revalidate' } }));
    const fresh = ownerCache(mustRevalidate.fetcher);
    await fresh.serve(request());
    assert.equal(fresh.serveFresh(request())?.outcome, 'HIT');
    assert.equal(mustRevalidate.asked.length, 1);

    const { fetcher, asked } = origin((h) => (h['if-none-match'] ? { status: 304, headers: { etag: ETAG } } : { status: 200, headers: { ...cacheable, 'cache-control': 'max-age=60, no-cache' } }));
    const cache = ownerCache(fetcher);
    await cache.serve(request());
    assert.equal(cache.serveFresh(request()), undefined);
    assert.equal((await cache.serve(request())).outcome, 'REVALIDATED');
    assert.equal(asked.length, 2);
  });

  it('a client sees the prepared answer as written: one Content-Length, Age, the extra fields after', async () => {
    const { fetcher } = origin(() => ({ status: 200, headers: cacheable }));
    const cache = ownerCache(fetcher);
    await cache.serve(request());
    const hit = cache.serveFresh(request())!;
    const server = createServer((req, res) => void sendServed(res, { status: hit.status, headers: hit.headers as Record<string, string>, body: hit.body, headerList: hit.headerList }, req.method!, ['x-extra', 'yes']));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const got = await fetch(base);
      assert.equal(got.status, 200);
      assert.equal(await got.text(), BODY.toString());
      assert.equal(got.headers.get('content-length'), String(BODY.length));
      assert.equal(got.headers.get('age'), '0');
      assert.equal(got.headers.get('etag'), ETAG);
      assert.equal(got.headers.get('x-extra'), 'yes');
      const head = await fetch(base, { method: 'HEAD' });
      assert.equal(head.headers.get('content-length'), String(BODY.length));
      assert.equal(await head.text(), '');
    } finally {
      server.close();
    }
  });

  it('a handed-off variant keeps its freshness and headers on the node that takes it over', async () => {
    const { fetcher } = origin(() => ({ status: 200, headers: { ...cacheable, age: '7' } }));
    const from = ownerCache(fetcher);
    await from.serve(request());
    mock.timers.tick(3_000);
    const to = ownerCache(origin(() => assert.fail('the new owner must not ask the origin')).fetcher);
    for (const v of from.store.all().flat()) to.store.put(variantFromWire(JSON.parse(JSON.stringify(variantToWire(v)), (_k, value) => (value?.type === 'Buffer' ? Buffer.from(value.data) : value))));
    const before = from.serveFresh(request())!;
    const after = to.serveFresh(request())!;
    assert.deepEqual(after.headers, before.headers, 'Age 10 on both');
    assert.equal(after.headers.age, '10');
    assert.equal(after.freshForMs, before.freshForMs);
    assert.deepEqual(after.body, BODY);
  });
});
