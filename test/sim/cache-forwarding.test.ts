import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CachePeers } from '../../src/cache/cache-peers.js';
import { CacheRing } from '../helpers/cache-ring.js';

const URL_A = 'http://origin.test/objects/a';

/** Ids around the URL's key, so each test decides who owns it: `offset` after the key. */
function around(ring: CacheRing, url: string, offset: number): bigint {
  return (ring.ids.hash(url) + BigInt(offset) + ring.ids.size) % ring.ids.size;
}

describe('cache - forwarding between nodes (in-memory peers, a hand-made ring)', () => {
  it('an entry forwards to the owner: MISS-DHT once, then HIT-DHT, and the origin is asked once', async () => {
    const ring = new CacheRing();
    const owner = ring.join(around(ring, URL_A, 0));
    const entry = ring.join(around(ring, URL_A, 5000));
    const first = await ring.request(entry, URL_A);
    assert.deepEqual([first.status, first.xCache, first.owner, first.body], [200, 'MISS-DHT', owner.ref.addr, `body of ${URL_A}`]);
    const second = await ring.request(entry, URL_A);
    assert.deepEqual([second.status, second.xCache, second.body], [200, 'HIT-DHT', `body of ${URL_A}`]);
    assert.equal(ring.lookups, 1, 'the second forward took its route from the route cache');
    const local = await ring.request(owner, URL_A);
    assert.equal(local.xCache, 'HIT-LOCAL');
    assert.equal(ring.origin.count(URL_A), 1);
  });

  it('a stale route reaches the former owner, which refuses; the entry looks up afresh and gets the handed-off copy', async () => {
    const ring = new CacheRing();
    const former = ring.join(around(ring, URL_A, 50));
    const entry = ring.join(around(ring, URL_A, 5000));
    assert.equal((await ring.request(entry, URL_A)).xCache, 'MISS-DHT');
    const lookupsBefore = ring.lookups;
    // A node joins just before the key's former owner and takes the key over, objects included.
    const previous = ring.predecessorOf(former);
    const joined = ring.join(around(ring, URL_A, 0));
    await ring.handToNewPredecessor(former, previous, joined.ref);
    const after = await ring.request(entry, URL_A);
    assert.deepEqual([after.status, after.xCache, after.owner, after.body], [200, 'HIT-DHT', joined.ref.addr, `body of ${URL_A}`]);
    assert.equal(ring.lookups, lookupsBefore + 1, 'one fresh lookup after the refusal');
    assert.equal(ring.origin.count(URL_A), 1, 'the object moved; the origin was not asked again');
    assert.equal((await ring.request(former, URL_A)).owner, joined.ref.addr, 'the former owner forwards too now');
  });

  it('a leaving owner hands its objects to its successor, which serves them without the origin', async () => {
    const ring = new CacheRing();
    const leaving = ring.join(around(ring, URL_A, 0));
    const heir = ring.join(around(ring, URL_A, 100));
    const entry = ring.join(around(ring, URL_A, 5000));
    assert.equal((await ring.request(entry, URL_A)).xCache, 'MISS-DHT');
    await ring.handOff(leaving);
    ring.drop(leaving);
    const after = await ring.request(entry, URL_A);
    assert.deepEqual([after.xCache, after.owner, after.body], ['HIT-DHT', heir.ref.addr, `body of ${URL_A}`]);
    assert.equal(ring.origin.count(URL_A), 1);
  });

  it('an owner that crashed is skipped for the next node of its list, which takes its range over', async () => {
    const ring = new CacheRing();
    const crashed = ring.join(around(ring, URL_A, 0));
    const next = ring.join(around(ring, URL_A, 100));
    const entry = ring.join(around(ring, URL_A, 5000));
    ring.crash(crashed);
    const answer = await ring.request(entry, URL_A);
    assert.deepEqual([answer.status, answer.xCache, answer.owner], [200, 'MISS-DHT', next.ref.addr]);
  });

  it('an entry keeps a copy of a hot object and serves it itself (HIT-HOT) without asking the owner', async () => {
    const ring = new CacheRing({ hotspotThreshold: 3 });
    const owner = ring.join(around(ring, URL_A, 0));
    const entry = ring.join(around(ring, URL_A, 5000));
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) seen.push((await ring.request(entry, URL_A)).xCache);
    assert.deepEqual(seen, ['MISS-DHT', 'HIT-DHT', 'HIT-DHT', 'HIT-HOT', 'HIT-HOT', 'HIT-HOT'], 'hot from the third request at the owner on');
    const forwards = ring.peers.calls.filter((c) => c.kind === 'fetch' && c.addr === owner.ref.addr).length;
    assert.equal(forwards, 3, 'requests served from the hot copy did not reach the owner');
    const copy = await ring.request(entry, URL_A);
    assert.deepEqual([copy.status, copy.body, copy.owner], [200, `body of ${URL_A}`, owner.ref.addr]);
    assert.equal(ring.origin.count(URL_A), 1);
  });

  it('a local bug while forwarding fails the request once instead of being retried as a dead peer', async () => {
    let forwards = 0;
    const broken = (memory: CachePeers): CachePeers => ({
      fetch: async () => {
        forwards++;
        throw new TypeError('a bug on the entry side');
      },
      store: (addr, variants) => memory.store(addr, variants),
      invalidate: (addr, url) => memory.invalidate(addr, url),
      close: () => memory.close(),
    });
    const ring = new CacheRing({ peers: broken });
    ring.join(around(ring, URL_A, 0));
    ring.join(around(ring, URL_A, 100));
    const entry = ring.join(around(ring, URL_A, 5000));
    await assert.rejects(ring.request(entry, URL_A), TypeError);
    assert.equal(forwards, 1);
    assert.equal(ring.lookups, 1);
  });
});
