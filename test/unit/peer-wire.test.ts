import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { headToWire, parseFetchRequest, parseHead } from '../../src/transport/peer/peer-wire.js';

const head = (freshForMs: number) => ({ status: 200, headers: {}, headerList: ['content-length', '2', 'age', '3'], outcome: 'HIT' as const, stored: true, hot: true, freshForMs });

describe('transport - peer wire messages', () => {
  it('a head states its freshness in whole seconds, rounded down, so that an entry never keeps a hot copy past it', () => {
    for (const [sent, read] of [[0, 0], [999, 0], [1999, 1000], [299_500, 299_000]]) {
      assert.equal(parseHead(headToWire(head(sent!)).toString('utf8')).freshForMs, read, String(sent));
    }
  });

  it('the heads of one object within a second are the same bytes, read as the same head', () => {
    const [a, b] = [headToWire(head(5_100)), headToWire(head(5_900))];
    assert.deepEqual(a, b);
    const read = parseHead(a.toString('utf8'));
    assert.deepEqual(read.headerList, ['content-length', '2', 'age', '3']);
    assert.ok(Object.isFrozen(read), 'a head shared between requests cannot be changed by one of them');
  });

  it('a malformed message fails each time it comes, also after a good one with the same start', () => {
    const good = JSON.stringify({ url: 'http://o.test/a', method: 'GET', headers: ['accept', '*/*'] });
    const bad = JSON.stringify({ url: 'http://o.test/a', method: 'GET', headers: ['accept'] });
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(parseFetchRequest(good).req.headers, { accept: '*/*' });
      assert.throws(() => parseFetchRequest(bad), { code: 'ERR_INVALID_ARGUMENT', message: /headers/ });
    }
    assert.throws(() => ((parseFetchRequest(good).req.headers as Record<string, string>).accept = 'x'), TypeError, 'shared requests are frozen');
  });

  it("refuses a head field whose value would write a line break as latin1 bytes, as a client's head is written", () => {
    const wire = (value: string) => JSON.stringify({ status: 200, headers: ['x-evil', value], outcome: 'HIT', stored: true, hot: false, origin_status: 0, fresh_for_ms: 0 });
    assert.equal(parseHead(wire('caf\u00e9')).headers['x-evil'], 'caf\u00e9', 'obs-text is a value');
    assert.throws(() => parseHead(wire('a\u010aset-cookie: b')), { code: 'ERR_INVALID_ARGUMENT', message: /head\.headers\[1\]/ });
  });
});
