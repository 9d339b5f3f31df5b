import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StoredVariant } from '../../src/cache/stored-variant.js';
import { evaluate } from '../../src/cache/freshness.js';

describe('cache - stored header lists', () => {
  it('keep the headers as the origin sent them, in order, repeated fields and long values included, however many share strings', () => {
    const headers = { 'content-type': 'text/html', 'set-cookie': ['a=1', 'b=2'], etag: '"1"', 'x-long': 'v'.repeat(1000) };
    const { policy } = evaluate({}, 200, headers, { targets: [], defaultTtlSeconds: 60 });
    for (let i = 0; i < 1500; i++) {
      const own = { ...headers, etag: `"${i}"` };
      const stored = StoredVariant.of({ url: `http://o/${i}`, status: 200, headers: own, body: Buffer.from('x'), policy, selectedBy: {} });
      assert.deepEqual(stored.headerList, ['content-type', 'text/html', 'set-cookie', 'a=1', 'set-cookie', 'b=2', 'etag', `"${i}"`, 'x-long', 'v'.repeat(1000)]);
    }
  });
});
