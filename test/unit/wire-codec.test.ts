import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdSpace } from '../../src/id/id-space.js';
import { dhtCodecs } from '../../src/transport/grpc/codec.js';

const codecs = dhtCodecs(new IdSpace(66));
const refused = (field: RegExp) => (err: unknown) => (err as { code?: string }).code === 'ERR_INVALID_ARGUMENT' && field.test((err as Error).message);

describe('transport - grpc - codec checks every field from the wire', () => {
  it('round-trips well-formed messages', () => {
    const req = { key: 0x3ffffffffffffffffn, carry: { i: 0n, kshift: 5n } };
    assert.deepEqual(codecs.findNext.decodeRequest(codecs.findNext.encodeRequest(req)), req);
    const leave = { node: { id: 1n, addr: '[::1]:4000' }, predecessor: undefined, successors: [{ id: 2n, addr: 'dht-node-0.dht-headless:4000' }] };
    assert.deepEqual(codecs.leave.decodeRequest({ ...codecs.leave.encodeRequest(leave) }), leave);
  });

  it('refuses ids that are empty, not lower-case hex, too long or not below 2^b', () => {
    for (const key of ['', 'zz', 'ABC', '0x10', '-1', 'NaN', 'f'.repeat(5000), '40000000000000000', 7, null]) {
      assert.throws(() => codecs.findNext.decodeRequest({ key, carry: null }), refused(/^key: /), `key ${String(key).slice(0, 20)}`);
    }
    assert.throws(() => codecs.findNext.decodeRequest({ key: '1', carry: { i: 'x', kshift: '0' } }), refused(/^carry\.i: /));
    assert.throws(() => codecs.findNext.decodeRequest({ key: '1', carry: 'wrong type' }), refused(/^carry: /));
    assert.throws(() => codecs.syncDigest.decodeRequest({ from: '1', to: 'g', digest: [] }), refused(/^to: /));
  });

  it('refuses node addresses that are not host:port or are too long', () => {
    for (const addr of ['', 'nohost', 'a:0', 'a:65536', 'a b:1', `${'a'.repeat(300)}:1`, 'a:1/x']) {
      assert.throws(() => codecs.notify.decodeRequest({ node: { id: '1', addr } }), refused(/^node\.addr: /), addr.slice(0, 20));
    }
  });

  it('refuses lists longer than any routing state and versions a Number cannot hold', () => {
    const many = Array.from({ length: 600 }, () => ({ id: '1', addr: 'a:1' }));
    assert.throws(() => codecs.leave.decodeRequest({ node: { id: '1', addr: 'a:1' }, predecessor: null, successors: many }), refused(/^successors: at most 512/));
    for (const version of [2 ** 64 - 1, -1, Number.NaN, 1.5]) {
      const items = [{ key: 'k', value: '', version, deleted: true }];
      assert.throws(() => codecs.storeItems.decodeRequest({ items }), refused(/^items\[0\]\.version: /), String(version));
    }
  });

  it('refuses malformed answers of peers too', () => {
    assert.throws(() => codecs.findNext.decodeResponse({ done: false, hop: 'teleport', candidates: [], successors: [], shifts: 0, imaginary: '', carry: null }), refused(/^hop: /));
    assert.throws(() => codecs.lookup.decodeResponse({ owner: null, predecessor: null, successors: [], hops: 1 }), refused(/^owner: /));
  });
});
