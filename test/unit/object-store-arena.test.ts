import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SlabArena, slabBytesFor } from '../../src/cache/slab-arena.js';
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

describe('cache - small entries in shared slabs', () => {
  it('packs small entries (fields and body) into one slab and charges them their bytes, not an allocation each', () => {
    const store = new ObjectStore(16 * MIB, new IdSpace(66));
    store.put(variant('http://o/a', bodyOf(1)));
    store.put(variant('http://o/b', bodyOf(2)));
    const a = store.find('http://o/a', {})!;
    const b = store.find('http://o/b', {})!;
    assert.equal(a.body.buffer, b.body.buffer, 'one slab');
    assert.deepEqual(a.body, bodyOf(1));
    assert.deepEqual(b.body, bodyOf(2));
    assert.equal(store.sizeBytes, entryBytes(a, true) + entryBytes(b, true) + store.arenaWasteBytes);
    assert.equal(store.arenaWasteBytes, slabBytesFor(16 * MIB) - a.bytes.length - b.bytes.length, 'the slab is counted whole: its unused tail is waste');
  });

  it('keeps a big body in its own allocation', () => {
    const store = new ObjectStore(16 * MIB, new IdSpace(66));
    const body = Buffer.alloc(64 * 1024, 3);
    store.put(variant('http://o/big', body));
    const stored = store.find('http://o/big', {})!;
    assert.equal(stored.body, body, 'the body as it arrived, not a copy');
    assert.equal(stored.bytes.buffer.byteLength, stored.bytes.length, 'the fields in an allocation of their own');
    assert.equal(store.arenaWasteBytes, 0, 'no slab');
  });

  it('packs entries of up to 64 KiB into slabs at a capacity of 64 MB and more, charging their bytes', () => {
    const store = new ObjectStore(64 * MIB, new IdSpace(66));
    store.put(variant('http://o/a', bodyOf(1, 16 * 1024)));
    store.put(variant('http://o/b', bodyOf(2, 16 * 1024)));
    const a = store.find('http://o/a', {})!;
    const b = store.find('http://o/b', {})!;
    assert.equal(a.body.buffer, b.body.buffer, 'one slab');
    assert.deepEqual(a.body, bodyOf(1, 16 * 1024));
    assert.equal(store.sizeBytes, entryBytes(a, true) + entryBytes(b, true) + store.arenaWasteBytes);
    const body = Buffer.alloc(64 * 1024, 5);
    store.put(variant('http://o/past', body));
    assert.equal(store.find('http://o/past', {})!.body, body, 'a 64 KiB body with its fields is past the limit: kept as it arrived');
  });

  it('counts the bytes of dropped bodies while their slab is still in use', () => {
    const store = new ObjectStore(16 * MIB, new IdSpace(66));
    for (let i = 0; i < 10; i++) store.put(variant(`http://o/${i}`, bodyOf(i)));
    const before = store.sizeBytes;
    const dropped = store.find('http://o/3', {})!;
    const gone = entryBytes(dropped, true);
    store.delete('http://o/3');
    assert.equal(store.sizeBytes, before - gone + dropped.bytes.length, 'the entry goes, its fields and body stay as waste');
    store.put(variant('http://o/4', bodyOf(44)));
    assert.deepEqual(store.find('http://o/4', {})!.body, bodyOf(44), 'a replaced variant');
    assert.equal(store.arenaWasteBytes, slabBytesFor(16 * MIB) - 9 * dropped.bytes.length, 'releases the old variant');
  });

  it('keeps the other variants of a URL when one is replaced', () => {
    const store = new ObjectStore(16 * MIB, new IdSpace(66));
    const vary = { vary: 'accept' };
    store.put(variant('http://o/v', bodyOf(1), vary, { accept: 'a' }));
    store.put(variant('http://o/v', bodyOf(2), vary, { accept: 'b' }));
    store.put(variant('http://o/v', bodyOf(3), vary, { accept: 'a' }));
    const a = store.find('http://o/v', { accept: 'a' })!;
    const b = store.find('http://o/v', { accept: 'b' })!;
    assert.deepEqual(a.body, bodyOf(3));
    assert.deepEqual(b.body, bodyOf(2));
    assert.equal(store.arenaWasteBytes, slabBytesFor(16 * MIB) - a.bytes.length - b.bytes.length, 'the replaced variant is released');
  });

  it('releases the bytes of a URL whose variants together outgrow the capacity', () => {
    const capacity = 128 * 1024;
    const vary = { vary: 'accept' };
    // Long Vary selections, small stored bytes: packed variants whose entries are large.
    const selecting = (tag: string) => ({ accept: tag.padEnd(4096, '.') });
    // Small variants only: the URL goes when its entry and the arena's waste pass the capacity.
    const small = new ObjectStore(capacity, new IdSpace(66));
    const refused: number[] = [];
    for (let i = 0; i < 32; i++) if (!small.put(variant('http://o/many', bodyOf(i, 8), vary, selecting(`t${i}`)))) refused.push(i);
    assert.ok(refused.length > 0, 'put says when the URL had to go');
    small.delete('http://o/many');
    assert.equal(small.sizeBytes, slabBytesFor(capacity), 'nothing counted but the empty current slab');
    // Small variants, then big ones (allocations of their own) until the URL alone is too big for the LRU.
    const mixed = new ObjectStore(capacity, new IdSpace(66));
    for (let i = 0; i < 5; i++) assert.ok(mixed.put(variant('http://o/mixed', bodyOf(i, 8), vary, selecting(`s${i}`))));
    let bigRefused = false;
    for (let i = 0; i < 4 && !bigRefused; i++) bigRefused = !mixed.put(variant('http://o/mixed', bodyOf(i, 40_000), vary, selecting(`b${i}`)));
    assert.ok(bigRefused, 'the URL outgrew the store');
    assert.equal(mixed.entryCount, 0);
    assert.equal(mixed.sizeBytes, slabBytesFor(capacity), 'the small variants were released');
  });

  it('moves survivors out of sparse slabs, keeping every body intact and entries plus waste within the capacity', () => {
    const capacity = 2 * MIB;
    const store = new ObjectStore(capacity, new IdSpace(66));
    // New objects; a hot set (every tenth of the first 800, kept recent once all are in) that
    // pins the slabs it was packed into; some drops.
    for (let i = 0; i < 20_000; i++) {
      store.put(variant(`http://o/${i}`, bodyOf(i, 200 + (i % 7) * 100)));
      for (let k = 0; k < 3; k++) if (i >= 800) store.find(`http://o/${((i * 3 + k) % 80) * 10}`, {});
      if (i % 5 === 0) store.delete(`http://o/${i - 7}`);
      assert.ok(store.sizeBytes <= capacity, `${store.sizeBytes} B accounted after ${i}`);
    }
    for (let k = 0; k < 80; k++) assert.ok(store.find(`http://o/${k * 10}`, {}), `hot object ${k * 10} kept`);
    let checked = 0;
    for (const [v] of store.all()) {
      const i = Number(/\/(\d+)$/.exec(v!.url)![1]);
      assert.deepEqual(v!.body, bodyOf(i, 200 + (i % 7) * 100), v!.url);
      checked++;
    }
    assert.ok(checked > 1000, `${checked} entries kept`);
    assert.ok(store.arenaWasteBytes <= capacity / 4, `${store.arenaWasteBytes} B of slab waste`);
  });

  it('forgets a slab once none of its entries is held', () => {
    const arena = new SlabArena(16 * 1024);
    const views = Array.from({ length: 40 }, () => arena.allocate(1000));
    assert.equal(arena.slabBytes, 3 * 16 * 1024);
    for (const v of views.slice(0, 16)) arena.release(v);
    assert.equal(arena.slabBytes, 2 * 16 * 1024, 'the first slab (16 bodies) is gone');
    assert.equal(arena.holds(views[0]!.buffer), false);
    assert.equal(arena.wasteBytes, 2 * 16 * 1024 - 24 * 1000);
  });
});
