import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CachePolicy, MUST_REVALIDATE, NO_CACHE, NO_RULES } from '../../src/cache/rfc9111/policy.js';
import { StoredVariant } from '../../src/cache/stored-variant.js';

/** Arrived at a moment with ms in it, so that rounding to a second would show. */
const ARRIVED = 1_790_000_000_789;

function stored(policy: CachePolicy, status = 200): StoredVariant {
  return StoredVariant.of({ url: 'http://o/a', status, headers: { 'content-type': 'text/plain' }, body: Buffer.from('x'), policy, selectedBy: {} }, undefined, (length) => Buffer.alloc(length));
}

describe('cache - stored freshness', () => {
  it('keeps age and freshness to the millisecond, the age it arrived with included', () => {
    const v = stored(new CachePolicy(ARRIVED, 5, 60, 0, 0, 0));
    assert.equal(v.ageAt(ARRIVED), 5);
    assert.equal(v.ageAt(ARRIVED + 999), 5);
    assert.equal(v.ageAt(ARRIVED + 1_000), 6);
    assert.equal(v.freshAt(ARRIVED + 54_999), true, 'fresh for its lifetime less the age it came with');
    assert.equal(v.freshAt(ARRIVED + 55_000), false);
    assert.equal(v.freshForMs(ARRIVED + 54_000), 1_000);
  });

  it('rebuilds a policy that ages, expires and allows reuse as the one it was stored with', () => {
    const original = new CachePolicy(ARRIVED, 7, 30, MUST_REVALIDATE, 10, 20);
    const rebuilt = stored(original).policy;
    for (const after of [0, 1, 22_999, 23_000, 40_000]) {
      const now = ARRIVED + after;
      assert.equal(rebuilt.ageAt(now), original.ageAt(now), `age ${after} ms after arrival`);
      assert.equal(rebuilt.freshForMs(now), original.freshForMs(now));
      assert.equal(rebuilt.reuse(NO_RULES, now), original.reuse(NO_RULES, now));
      assert.equal(rebuilt.staleIfErrorAllows(now), original.staleIfErrorAllows(now));
    }
    assert.equal(rebuilt.flags, MUST_REVALIDATE);
  });

  it('caps a lifetime past 2^31 seconds there, still fresh decades on', () => {
    const v = stored(new CachePolicy(ARRIVED, 0, 1e12, 0, 0, 0));
    const fiftyYears = 50 * 365 * 24 * 3_600_000;
    assert.equal(v.freshAt(ARRIVED + fiftyYears), true);
    assert.equal(v.policy.lifetime, 2 ** 31 - 1);
  });

  it('keeps status, no-cache and the RFC 5861 windows of each response apart from the others', () => {
    const ok = stored(new CachePolicy(ARRIVED, 0, 60, 0, 0, 0), 200);
    const gone = stored(new CachePolicy(ARRIVED, 0, 60, 0, 0, 0), 410);
    const noCache = stored(new CachePolicy(ARRIVED, 0, 60, NO_CACHE, 0, 0), 200);
    const windows = stored(new CachePolicy(ARRIVED, 0, 60, 0, 30, 90), 200);
    assert.deepEqual([ok.status, gone.status, noCache.status, windows.status], [200, 410, 200, 200]);
    assert.equal(ok.freshAt(ARRIVED + 1), true);
    assert.equal(noCache.freshAt(ARRIVED + 1), false, 'no-cache: never fresh without revalidation');
    assert.equal(ok.policy.staleWhileRevalidateAllows(ARRIVED + 70_000), false);
    assert.equal(windows.policy.staleWhileRevalidateAllows(ARRIVED + 70_000), true);
    assert.equal(windows.policy.staleIfErrorAllows(ARRIVED + 140_000), true);
  });
});
