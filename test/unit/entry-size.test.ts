import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUFFER_ALLOCATION_BYTES, ENTRY_FIXED_BYTES, entryBytes, HEADER_FIELD_BYTES } from '../../src/cache/entry-size.js';
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
  it('counts the measured per-entry and per-header overhead besides URL, headers and body', () => {
    const v = variant('http://o/a', Buffer.alloc(100), { 'cache-control': 'max-age=60', etag: '"x"' });
    const payload = 'http://o/a'.length + 100 + 'cache-control'.length + 'max-age=60'.length + 'etag'.length + '"x"'.length;
    assert.equal(entryBytes(StoredVariant.of(v), false), ENTRY_FIXED_BYTES + BUFFER_ALLOCATION_BYTES + 2 * HEADER_FIELD_BYTES + payload, 'a body in its own allocation');
    assert.equal(entryBytes(StoredVariant.of(v), true), ENTRY_FIXED_BYTES + 2 * HEADER_FIELD_BYTES + payload, 'a body packed into a shared slab');
  });

  it('counts the Vary selection a variant keeps, and keeps no request header Vary does not name', () => {
    const plain = StoredVariant.of(variant('http://o/v', Buffer.alloc(10), { vary: 'accept' }, {}));
    const withRequest = StoredVariant.of(variant('http://o/v', Buffer.alloc(10), { vary: 'accept' }, { accept: 'text/html', 'user-agent': 'u'.repeat(200) }));
    assert.equal(entryBytes(withRequest, false) - entryBytes(plain, false), 'text/html'.length);
    assert.doesNotMatch(withRequest.policy.toWire(), /uuuu/);
  });

  it('keeps the default TTL in the policy\'s numbers, not as a header of its own', () => {
    const defaulted = StoredVariant.of(variant('http://o/d', Buffer.alloc(10), { 'content-type': 'text/plain' }));
    const stored = 'http://o/d'.length + 10 + HEADER_FIELD_BYTES + 'content-type'.length + 'text/plain'.length;
    assert.equal(entryBytes(defaulted, false), ENTRY_FIXED_BYTES + BUFFER_ALLOCATION_BYTES + stored);
    assert.equal(defaulted.policy.freshForMs(Date.now()) > 3_500_000, true, 'and the rebuilt policy still has it');
  });

  it('stores a body sliced from a shared slab in an allocation of its own, and counts that', () => {
    const slab = Buffer.alloc(64 * 1024, 7);
    const slice = slab.subarray(1000, 11_000);
    const store = new ObjectStore(1_000_000, new IdSpace(66));
    assert.ok(store.put(variant('http://o/s', slice)));
    const stored = store.find('http://o/s', {})!;
    assert.deepEqual(stored.body, slice, 'same bytes');
    assert.equal(stored.body.buffer.byteLength, 10_000, 'not the 64 KiB slab');
    assert.ok(store.sizeBytes < 64 * 1024, 'the slab is not counted, nor kept');
  });

  it('keeps a body that already owns its allocation as it is', () => {
    const body = Buffer.alloc(50_000, 1);
    const store = new ObjectStore(1_000_000, new IdSpace(66));
    store.put(variant('http://o/own', body));
    assert.equal(store.find('http://o/own', {})!.body, body);
  });

  it('holds as many small entries as the measured cost allows, not more', () => {
    const store = new ObjectStore(1024 * 1024, new IdSpace(66));
    for (let i = 0; i < 2000; i++) store.put(variant(`http://o/${i}`, Buffer.alloc(1024)));
    const perEntry = store.sizeBytes / store.entryCount;
    assert.ok(perEntry > 1024 + ENTRY_FIXED_BYTES, `${perEntry} B per 1 KiB entry`);
    assert.ok(store.entryCount < (1024 * 1024) / (1024 + ENTRY_FIXED_BYTES));
  });
});
