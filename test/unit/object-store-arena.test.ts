import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BodyArena, slabBytesFor } from '../../src/cache/body-arena.js';
import { entryBytes } from '../../src/cache/entry-size.js';
import { evaluate } from '../../src/cache/freshness.js';
import { ObjectStore } from '../../src/cache/object-store.js';
import type { Variant } from '../../src/cache/stored-variant.js';
import { IdSpace } from '../../src/id/id-space.js';

const MIB = 1024 * 1024;

function variant(url: string, body: Buffer, headers: Record<string, string> = {}, request: Record<string, string> = {}): Variant {
  const { policy } = evaluate(request, 200, headers, { targets: [], defaultTtlSeconds: 3600 });
  return { url, status: 200, headers, body, policy, selectedBy: headers.vary ? { [headers.vary]: request[headers.vary] ?? '' } : {} };
}

/** A body whose bytes say which object it belongs to. */
const bodyOf = (i: number, bytes = 1000) => Buffer.alloc(bytes, `object ${i};`);

describe('cache - small bodies in shared slabs', () => {
  it('packs small bodies into one slab and charges them their bytes, not an allocation each', () => {
    const store = new ObjectStore(16 * MIB, new IdSpace(66));
    store.put(variant('http://o/a', bodyOf(1)));
    store.put(variant('http://o/b', bodyOf(2)));
    const a = store.find('http://o/a', {})!;
    const b = store.find('http://o/b', {})!;
    assert.equal(a.body.buffer, b.body.buffer, 'one slab');
    assert.deepEqual(a.body, bodyOf(1));
    assert.deepEqual(b.body, bodyOf(2));
    assert.equal(store.sizeBytes, entryBytes(a, true) + entryBytes(b, true) + store.arenaWasteBytes);
    assert.equal(store.arenaWasteBytes, slabBytesFor(16 * MIB) - 2000, 'the slab is counted whole: its unused tail is waste');
  });

  it('keeps a big body in its own allocation', () => {
    const store = new ObjectStore(16 * MIB, new IdSpace(66));
    const body = Buffer.alloc(64 * 1024, 3);
    store.put(variant('http://o/big', body));
    assert.equal(store.find('http://o/big', {})!.body, body);
    assert.equal(store.arenaWasteBytes, 0, 'no slab');
  });

  it('counts the bytes of dropped bodies while their slab is still in use', () => {
    const store = new ObjectStore(16 * MIB, new IdSpace(66));
    for (let i = 0; i < 10; i++) store.put(variant(`http://o/${i}`, bodyOf(i)));
    const before = store.sizeBytes;
    const gone = entryBytes(store.find('http://o/3', {})!, true);
    store.delete('http://o/3');
    assert.equal(store.sizeBytes, before - gone + 1000, 'the entry goes, its 1000 body bytes stay as waste');
    store.put(variant('http://o/4', bodyOf(44)));
    assert.deepEqual(store.find('http://o/4', {})!.body, bodyOf(44), 'a replaced variant');
    assert.equal(store.arenaWasteBytes, slabBytesFor(16 * MIB) - 9000, 'releases the old body');
  });

  it('keeps the other variants of a URL when one is replaced', () => {
    const store = new ObjectStore(16 * MIB, new IdSpace(66));
    const vary = { vary: 'accept' };
    store.put(variant('http://o/v', bodyOf(1), vary, { accept: 'a' }));
    store.put(variant('http://o/v', bodyOf(2), vary, { accept: 'b' }));
    store.put(variant('http://o/v', bodyOf(3), vary, { accept: 'a' }));
    assert.deepEqual(store.find('http://o/v', { accept: 'a' })!.body, bodyOf(3));
    assert.deepEqual(store.find('http://o/v', { accept: 'b' })!.body, bodyOf(2));
    assert.equal(store.arenaWasteBytes, slabBytesFor(16 * MIB) - 2000);
  });

  it('releases the bodies of a URL whose variants together outgrow the capacity', () => {
    const capacity = 16 * 1024;
    const vary = { vary: 'accept' };
    // Small variants only: the URL goes when its entry and the arena's waste pass the capacity.
    const small = new ObjectStore(capacity, new IdSpace(66));
    const refused: number[] = [];
    for (let i = 0; i < 40; i++) if (!small.put(variant('http://o/many', bodyOf(i, 60), vary, { accept: `t${i}` }))) refused.push(i);
    assert.ok(refused.length > 0, 'put says when the URL had to go');
    small.delete('http://o/many');
    assert.equal(small.sizeBytes, slabBytesFor(capacity), 'nothing counted but the empty current slab');
    // Small variants, then big ones (allocations of their own) until the URL alone is too big for the LRU.
    const mixed = new ObjectStore(capacity, new IdSpace(66));
    for (let i = 0; i < 5; i++) assert.ok(mixed.put(variant('http://o/mixed', bodyOf(i, 60), vary, { accept: `s${i}` })));
    let bigRefused = false;
    for (let i = 0; i < 4 && !bigRefused; i++) bigRefused = !mixed.put(variant('http://o/mixed', bodyOf(i, 5000), vary, { accept: `b${i}` }));
    assert.ok(bigRefused, 'the URL outgrew the store');
    assert.equal(mixed.entryCount, 0);
    assert.equal(mixed.sizeBytes, slabBytesFor(capacity), 'the small bodies were released');
  });

  it('moves survivors out of sparse slabs, keeping every body intact and entries plus waste within the capacity', () => {
    const capacity = 2 * MIB;
    const store = new ObjectStore(capacity, new IdSpace(66));
    // New objects; a hot set (every tenth of the first 2000, kept recent) that pins the slabs it
    // was packed into; some drops.
    for (let i = 0; i < 20_000; i++) {
      store.put(variant(`http://o/${i}`, bodyOf(i, 200 + (i % 7) * 100)));
      for (let k = 0; k < 3; k++) if (i >= 2000) store.find(`http://o/${((i * 3 + k) % 200) * 10}`, {});
      if (i % 5 === 0) store.delete(`http://o/${i - 7}`);
      assert.ok(store.sizeBytes <= capacity, `${store.sizeBytes} B accounted after ${i}`);
    }
    for (let k = 0; k < 200; k++) assert.ok(store.find(`http://o/${k * 10}`, {}), `hot object ${k * 10} kept`);
    let checked = 0;
    for (const [v] of store.all()) {
      const i = Number(/\/(\d+)$/.exec(v!.url)![1]);
      assert.deepEqual(v!.body, bodyOf(i, 200 + (i % 7) * 100), v!.url);
      checked++;
    }
    assert.ok(checked > 1000, `${checked} entries kept`);
    assert.ok(store.arenaWasteBytes <= capacity / 4, `${store.arenaWasteBytes} B of slab waste`);
  });

  it('forgets a slab once none of its bodies is held', () => {
    const arena = new BodyArena(16 * 1024);
    const views = Array.from({ length: 40 }, (_, i) => arena.hold(bodyOf(i, 1000)));
    assert.equal(arena.slabBytes, 3 * 16 * 1024);
    for (const v of views.slice(0, 16)) arena.release(v);
    assert.equal(arena.slabBytes, 2 * 16 * 1024, 'the first slab (16 bodies) is gone');
    assert.equal(arena.holds(views[0]!), false);
    assert.equal(arena.wasteBytes, 2 * 16 * 1024 - 24 * 1000);
  });
});
