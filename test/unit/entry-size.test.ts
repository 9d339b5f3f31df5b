import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUFFER_ALLOCATION_BYTES, ENTRY_FIXED_BYTES, entryBytes } from '../../src/cache/entry-size.js';
import { evaluate, type Headers } from '../../src/cache/freshness.js';
import { ObjectStore, varySelection } from '../../src/cache/object-store.js';
import type { Variant } from '../../src/cache/stored-variant.js';
import { StoredVariant } from '../../src/cache/stored-variant.js';
import { IdSpace } from '../../src/id/id-space.js';

function variant(url: string, body: Buffer, headers: Headers = { 'cache-control': 'max-age=60' }, request: Headers = {}): Variant {
  const { policy } = evaluate(request, 200, headers, { targets: [], defaultTtlSeconds: 3600 });
  return { url, status: 200, headers, body, policy, selectedBy: varySelection(headers, request) ?? {} };
}

describe('cache - entry size', () => {
  it('counts the measured per-entry overhead besides the URL and the stored field lines and body', () => {
    const v = variant('http://o/a', Buffer.alloc(100), { 'cache-control': 'max-age=60', etag: '"x"' });
    const lines = 'cache-control: max-age=60\r\netag: "x"\r\n'.length + `date: ${new Date(v.policy.responseTime).toUTCString()}\r\n`.length + 'content-length: 100\r\n\r\n'.length;
    const packed = StoredVariant.of(v, undefined, (length) => Buffer.alloc(length));
    assert.equal(packed.bytes.length, lines + 100, 'the fields as lines, then the body');
    assert.equal(entryBytes(packed, true), ENTRY_FIXED_BYTES + 'http://o/a'.length + lines + 100, 'packed into a shared slab');
    const apart = StoredVariant.of(v);
    assert.equal(apart.bytes.length, lines, 'the fields alone');
    assert.equal(entryBytes(apart, false), ENTRY_FIXED_BYTES + 'http://o/a'.length + lines + 100 + 2 * BUFFER_ALLOCATION_BYTES, 'fields and body each in an allocation of its own');
  });

  it('counts the Vary selection a variant keeps, and keeps no request header Vary does not name', () => {
    const plain = StoredVariant.of(variant('http://o/v', Buffer.alloc(10), { vary: 'accept' }, {}));
    const withRequest = StoredVariant.of(variant('http://o/v', Buffer.alloc(10), { vary: 'accept' }, { accept: 'text/html', 'user-agent': 'u'.repeat(200) }));
    assert.equal(entryBytes(withRequest, false) - entryBytes(plain, false), 'text/html'.length);
    assert.doesNotMatch(withRequest.policy.toWire(), /uuuu/);
  });

  it('keeps the default TTL in the policy\'s numbers, not as a header of its own', () => {
    const defaulted = StoredVariant.of(variant('http://o/d', Buffer.alloc(10), { 'content-type': 'text/plain' }));
    assert.deepEqual(
      defaulted.headerList.filter((_, i) => i % 2 === 0),
      ['content-type', 'date', 'content-length'],
    );
    assert.equal(defaulted.policy.freshForMs(Date.now()) > 3_500_000, true, 'and the rebuilt policy still has it');
  });

  it('stores a body sliced from a shared slab in an allocation of its own, and counts that', () => {
    const slab = Buffer.alloc(64 * 1024, 7);
    const slice = slab.subarray(1000, 11_000);
    const store = new ObjectStore(1_000_000, new IdSpace(66));
    assert.ok(store.put(variant('http://o/s', slice)));
    const stored = store.find('http://o/s', {})!;
    assert.deepEqual(stored.body, slice, 'same bytes');
    assert.equal(stored.bytes.buffer.byteLength, stored.bytes.length, 'not the 64 KiB slab');
    assert.ok(store.sizeBytes < 64 * 1024, 'the slab is not counted, nor kept');
  });

  it('holds as many small entries as the measured cost allows, not more', () => {
    const store = new ObjectStore(1024 * 1024, new IdSpace(66));
    for (let i = 0; i < 2000; i++) store.put(variant(`http://o/${i}`, Buffer.alloc(1024)));
    const perEntry = store.sizeBytes / store.entryCount;
    assert.ok(perEntry > 1024 + ENTRY_FIXED_BYTES, `${perEntry} B per 1 KiB entry`);
    assert.ok(store.entryCount < (1024 * 1024) / (1024 + ENTRY_FIXED_BYTES));
  });
});
