import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CachePolicy, evaluateResponse, requestRules, worthStoring, type Fields, type ResponseFacts } from '../../src/cache/rfc9111/policy.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const DATE = new Date(NOW).toUTCString();
const options = { targets: ['cdn-cache-control'], defaultTtlSeconds: 0 };
const judge = (headers: Fields, status = 200, more: Partial<ResponseFacts> = {}, defaultTtlSeconds = 0) =>
  evaluateResponse({ status, headers: { date: DATE, ...headers }, authorised: false, responseTime: NOW, ...more }, { ...options, defaultTtlSeconds });
const lifetime = (headers: Fields, status = 200) => judge(headers, status).policy.lifetime;

describe('RFC 9111 §4.2.1 - freshness lifetime', () => {
  it('s-maxage wins over max-age, which wins over Expires', () => {
    const expires = new Date(NOW + 500_000).toUTCString();
    assert.equal(lifetime({ 'cache-control': 'max-age=60, s-maxage=30', expires }), 30);
    assert.equal(lifetime({ 'cache-control': 'max-age=60', expires }), 60);
    assert.equal(lifetime({ expires }), 500);
  });

  it('Expires counts from Date; an invalid Expires (§5.3) or max-age is already stale', () => {
    assert.equal(lifetime({ expires: 'Thu, 15 Jan 2026 12:10:00 GMT' }), 600);
    for (const expires of ['Thu, 15 Jan 2026 12:10:00 UTC', 'Thu 15 Jan 2026 12:10:00 GMT', 'Thu, 15-Jan-2026 12:10:00 GMT', 'Thu, 15 Jan 2026 2:10:00 GMT', '0']) {
      const { policy, storable } = judge({ expires });
      assert.equal(policy.freshForMs(NOW), 0, expires);
      assert.equal(storable, true, 'an Expires field still makes it storable (§3), for revalidation');
    }
    assert.equal(lifetime({ 'cache-control': 'max-age=abc', expires: 'Thu, 15 Jan 2026 12:10:00 GMT' }), 0);
  });

  it('Expires as RFC 850 and asctime dates (RFC 9110 §5.6.7)', () => {
    assert.equal(lifetime({ expires: 'Thursday, 15-Jan-26 12:10:00 GMT' }), 600);
    assert.equal(lifetime({ expires: 'Thu Jan 15 12:10:00 2026' }), 600);
  });

  it('repeated Cache-Control lines are one list, not a crash', () => {
    assert.equal(lifetime({ 'cache-control': ['public', 'max-age=60'] }), 60);
    assert.equal(judge({ 'cache-control': ['max-age=60', 'no-store'] }).storable, false);
  });
});

describe('RFC 9111 §4.2.2 - heuristic freshness', () => {
  const lastModified = new Date(NOW - 10 * 86_400_000).toUTCString();

  it('a tenth of the time since Last-Modified, for heuristically cacheable statuses only', () => {
    for (const status of [200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]) assert.equal(lifetime({ 'last-modified': lastModified }, status), 86_400, String(status));
    for (const status of [201, 302, 303, 307, 400, 403, 500, 502, 503, 504]) {
      const { policy, storable } = judge({ 'last-modified': lastModified }, status);
      assert.equal(policy.lifetime, 0, String(status));
      assert.equal(storable, false, `${status} without explicit freshness is not stored`);
    }
  });

  it('public allows heuristics for any status', () => {
    assert.equal(lifetime({ 'last-modified': lastModified, 'cache-control': 'public' }, 302), 86_400);
  });

  it('the default TTL applies like a heuristic, never to an authorised request', () => {
    assert.equal(judge({}, 200, {}, 600).policy.lifetime, 600);
    assert.equal(judge({}, 500, {}, 600).policy.lifetime, 0);
    assert.equal(judge({}, 200, { authorised: true }, 600).policy.lifetime, 0);
  });
});

describe('RFC 9111 §3 - storing responses', () => {
  it('explicit freshness makes any final status reusable', () => {
    for (const status of [200, 299, 400, 404, 500, 502, 503, 504, 599]) {
      const judged = judge({ 'cache-control': 'max-age=60' }, status);
      assert.equal(judged.storable, true, String(status));
      assert.equal(judged.policy.reuse(requestRules({}), NOW + 1000), 'fresh', String(status));
    }
  });

  it('no-store and private are not stored by a shared cache; 1xx, 206 and 304 never', () => {
    assert.equal(judge({ 'cache-control': 'no-store, max-age=60' }).storable, false);
    assert.equal(judge({ 'cache-control': 'Private, max-age=60' }).storable, false);
    for (const status of [103, 206, 304]) assert.equal(judge({ 'cache-control': 'max-age=60' }, status).storable, false, String(status));
  });

  it('§5.2.2.3 must-understand: stored despite no-store when the status is understood, never when it is not', () => {
    assert.equal(judge({ 'cache-control': 'must-understand, no-store, max-age=60' }, 200).storable, true);
    assert.equal(judge({ 'cache-control': 'must-understand, no-store, max-age=60' }, 299).storable, false);
    assert.equal(judge({ 'cache-control': 'must-understand, max-age=60' }, 599).storable, false);
  });

  it('§3.5: a response to an authorised request only with public, s-maxage or must-revalidate', () => {
    assert.equal(judge({ 'cache-control': 'max-age=60' }, 200, { authorised: true }).storable, false);
    for (const cc of ['public, max-age=60', 's-maxage=60', 'must-revalidate, max-age=60']) assert.equal(judge({ 'cache-control': cc }, 200, { authorised: true }).storable, true, cc);
  });

  it('worth storing: fresh, or stale with a validator to revalidate it', () => {
    assert.equal(worthStoring(judge({ 'cache-control': 'max-age=0', etag: '"a"' }), NOW), true);
    assert.equal(worthStoring(judge({ 'cache-control': 'no-cache', 'last-modified': DATE }), NOW), true);
    assert.equal(worthStoring(judge({ 'cache-control': 'max-age=0' }), NOW), false);
    assert.equal(worthStoring(judge({ 'cache-control': 'no-cache, max-age=60' }), NOW), false);
  });
});

describe('RFC 9111 §4.2.3, §5.1 - age', () => {
  it('Age counts, as does the time since Date (apparent age) and the request\'s round trip', () => {
    assert.equal(judge({ 'cache-control': 'max-age=60', age: '20' }).policy.initialAge, 20);
    assert.equal(judge({ 'cache-control': 'max-age=60', date: new Date(NOW - 30_000).toUTCString() }).policy.initialAge, 30);
    assert.equal(judge({ 'cache-control': 'max-age=60', age: '20' }, 200, { requestTime: NOW - 3000 }).policy.initialAge, 23);
  });

  it('an Age that is not a non-negative integer is ignored; a list counts by its first member', () => {
    for (const age of ['1.5', '10s', '-5', 'abc']) assert.equal(judge({ 'cache-control': 'max-age=60', age }).policy.initialAge, 0, age);
    assert.equal(judge({ 'cache-control': 'max-age=60', age: '10, 20' }).policy.initialAge, 10);
  });

  it('current age grows with the time stored', () => {
    const { policy } = judge({ 'cache-control': 'max-age=60', age: '10' });
    assert.equal(policy.ageAt(NOW + 5000), 15);
    assert.equal(policy.freshForMs(NOW + 5000), 45_000);
  });
});

describe('RFC 9111 §4.2.4, §5.2 - reuse', () => {
  const at = (s: number) => NOW + s * 1000;
  const rules = (cc: string) => requestRules({ 'cache-control': cc });

  it('§5.2.2.2 must-revalidate: reused while fresh, never stale, even when the request allows it', () => {
    const { policy } = judge({ 'cache-control': 'max-age=10, must-revalidate' });
    assert.equal(policy.reuse(requestRules({}), at(5)), 'fresh');
    assert.equal(policy.reuse(rules('max-stale=100'), at(20)), 'revalidate');
    assert.equal(policy.staleIfErrorAllows(at(20)), false);
  });

  it('§5.2.2.4 no-cache: revalidated on every use, whatever its lifetime', () => {
    const { policy } = judge({ 'cache-control': 'max-age=600, No-Cache' });
    assert.equal(policy.reuse(requestRules({}), at(1)), 'revalidate');
    assert.equal(policy.freshForMs(at(1)), 0);
  });

  it('§5.2.1 request directives: max-age, min-fresh, max-stale, no-cache; Pragma: no-cache without Cache-Control (§5.4)', () => {
    const { policy } = judge({ 'cache-control': 'max-age=60' });
    assert.equal(policy.reuse(rules('max-age=10'), at(5)), 'fresh');
    assert.equal(policy.reuse(rules('max-age=10'), at(15)), 'revalidate');
    assert.equal(policy.reuse(rules('min-fresh=30'), at(20)), 'fresh');
    assert.equal(policy.reuse(rules('min-fresh=30'), at(40)), 'revalidate');
    assert.equal(policy.reuse(rules('max-stale=30'), at(80)), 'stale');
    assert.equal(policy.reuse(rules('max-stale=30'), at(100)), 'revalidate');
    assert.equal(policy.reuse(rules('max-stale'), at(10_000)), 'stale');
    assert.equal(policy.reuse(rules('NO-CACHE'), at(1)), 'revalidate');
    assert.equal(policy.reuse(requestRules({ pragma: 'no-cache' }), at(1)), 'revalidate');
    assert.equal(policy.reuse(requestRules({ pragma: 'no-cache', 'cache-control': 'max-age=100' }), at(1)), 'fresh');
    assert.deepEqual(
      [rules('no-store').noStore, rules('only-if-cached').onlyIfCached],
      [true, true],
    );
  });

  it('RFC 5861: stale-while-revalidate and stale-if-error windows after the lifetime', () => {
    const { policy } = judge({ 'cache-control': 'max-age=10, stale-while-revalidate=20, stale-if-error=100' });
    assert.equal(policy.staleWhileRevalidateAllows(at(25)), true);
    assert.equal(policy.staleWhileRevalidateAllows(at(35)), false);
    assert.equal(policy.staleIfErrorAllows(at(105)), true);
    assert.equal(policy.staleIfErrorAllows(at(115)), false);
  });
});

describe('RFC 9213 - targeted Cache-Control in the policy', () => {
  it('CDN-Cache-Control replaces Cache-Control and Expires for this cache: max-age, no-store, no-cache, private', () => {
    assert.equal(lifetime({ 'cdn-cache-control': 'max-age=600', 'cache-control': 'max-age=5', expires: 'Thu, 15 Jan 2026 12:00:01 GMT' }), 600);
    assert.equal(judge({ 'cdn-cache-control': 'no-store', 'cache-control': 'max-age=60' }).storable, false);
    assert.equal(judge({ 'cdn-cache-control': 'private', 'cache-control': 'public, max-age=60' }).storable, false);
    assert.equal(judge({ 'cdn-cache-control': 'no-cache', 'cache-control': 'max-age=60' }).policy.reuse(requestRules({}), NOW), 'revalidate');
    assert.equal(judge({ 'cdn-cache-control': 'max-age=60', 'cache-control': 'no-store' }).storable, true);
  });

  it('an invalid targeted field leaves Cache-Control in charge', () => {
    assert.equal(lifetime({ 'cdn-cache-control': 'MAX-AGE=600', 'cache-control': 'max-age=5' }), 5);
  });
});

describe('the policy in hand-offs', () => {
  it('travels as its numbers and comes back the same', () => {
    const { policy } = judge({ 'cache-control': 'max-age=60, must-revalidate, stale-if-error=5', age: '3' });
    assert.deepEqual(CachePolicy.fromWire(policy.toWire()), policy);
  });

  it('a peer\'s malformed policy is refused with ERR_INVALID_ARGUMENT', () => {
    for (const bad of ['{', '[]', '[1,2,3,4,5,"6"]', '[1,2,3,99,5,6]', '[1,2,-3,0,5,6]', 'null', '[1e999,0,0,0,0,0]']) {
      assert.throws(() => CachePolicy.fromWire(bad), { code: 'ERR_INVALID_ARGUMENT' }, bad);
    }
  });
});
