import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SharedStrings } from '../../src/cache/shared-strings.js';
import { StoredVariant } from '../../src/cache/stored-variant.js';
import { evaluate } from '../../src/cache/freshness.js';

describe('cache - shared header strings', () => {
  it('answers every string with an equal one, common and unique ones mixed past its capacity', () => {
    const shared = new SharedStrings(4);
    for (let i = 0; i < 100; i++) {
      const common = ['text/html', 'max-age=60'][i % 2]!;
      const unique = `"etag-${i}"`;
      assert.equal(shared.of(`${common}`), common);
      assert.equal(shared.of(unique), unique);
    }
    const long = 'x'.repeat(10_000);
    assert.equal(shared.of(long), long, 'a string too long to keep passes through');
  });

  it('leaves stored headers as the origin sent them, in order, repeated fields included', () => {
    const headers = { 'content-type': 'text/html', 'set-cookie': ['a=1', 'b=2'], etag: '"1"', 'x-long': 'v'.repeat(1000) };
    const { policy } = evaluate({}, 200, headers, { targets: [], defaultTtlSeconds: 60 });
    for (let i = 0; i < 3; i++) {
      const stored = StoredVariant.of({ url: `http://o/${i}`, status: 200, headers, body: Buffer.from('x'), policy, selectedBy: {} });
      assert.deepEqual(stored.headerList, ['content-type', 'text/html', 'set-cookie', 'a=1', 'set-cookie', 'b=2', 'etag', '"1"', 'x-long', 'v'.repeat(1000)]);
    }
  });
});
