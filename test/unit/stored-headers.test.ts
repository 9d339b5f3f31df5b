import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StoredVariant } from '../../src/cache/stored-variant.js';
import { evaluate, type Headers } from '../../src/cache/freshness.js';

function stored(headers: Headers, body = Buffer.from('x'), status = 200): StoredVariant {
  const { policy } = evaluate({}, status, headers, { targets: [], defaultTtlSeconds: 60 });
  // Packed with its fields, as the store keeps a small body.
  return StoredVariant.of({ url: 'http://o/a', status, headers, body, policy, selectedBy: {} }, undefined, (length) => Buffer.alloc(length));
}

describe('cache - stored fields', () => {
  it('keep the fields as the origin sent them, in order, repeated fields and long values included, then the body', () => {
    const date = 'Mon, 01 Jan 2024 00:00:00 GMT';
    const v = stored({ 'content-type': 'text/html', 'set-cookie': ['a=1', 'b=2'], etag: '"1"', date, 'x-long': 'v'.repeat(1000), 'x-latin': 'caf\u00e9' });
    assert.deepEqual(v.headerList, ['content-type', 'text/html', 'set-cookie', 'a=1', 'set-cookie', 'b=2', 'etag', '"1"', 'date', date, 'x-long', 'v'.repeat(1000), 'x-latin', 'caf\u00e9', 'content-length', '1']);
    assert.deepEqual(v.body, Buffer.from('x'));
    assert.match(v.tail(false).toString('latin1'), /\r\ncontent-length: 1\r\n\r\nx$/, 'a hit writes the lines, the empty line and the body');
    assert.doesNotMatch(v.tail(true).toString('latin1'), /x$/, 'and for HEAD no body');
  });

  it('keep a large body apart, in the allocation it arrived in, after the fields', () => {
    const body = Buffer.alloc(100_000, 'b');
    const { policy } = evaluate({}, 200, {}, { targets: [], defaultTtlSeconds: 60 });
    const v = StoredVariant.of({ url: 'http://o/big', status: 200, headers: { 'content-type': 'text/plain' }, body, policy, selectedBy: {} });
    assert.equal(v.body, body);
    assert.match(v.tail(false).toString('latin1'), /^content-type: text\/plain\r\ndate: .*\r\ncontent-length: 100000\r\n\r\n$/);
    assert.equal(v.bodyAfterTail(false), body);
    assert.equal(v.bodyAfterTail(true), undefined, 'none for HEAD');
  });

  it('give the body its own Content-Length and a Date of its arrival when the origin sent none (RFC 9110 §6.6.1)', () => {
    const v = stored({ 'content-length': '999', 'content-type': 'text/plain' }, Buffer.from('four'));
    const fields = v.headers;
    assert.equal(fields['content-length'], '4');
    assert.ok(Math.abs(Date.parse(String(fields.date)) - Date.now()) < 2000, `date ${fields.date}`);
    assert.equal(stored({}, Buffer.alloc(0), 204).headers['content-length'], undefined, 'no Content-Length in a 204');
    assert.match(String(stored({ date: 'a\r\nb' }).headers.date), /^\w{3}, \d\d \w{3} \d{4} /, 'an unwritable Date counts as none');
  });

  it('drop a field that could split a response or frame a connection: the stored bytes are written unchecked', () => {
    const v = stored({
      'content-type': 'text/plain',
      'x-split': 'a\r\nset-cookie: b',
      'x-wide': 'a\u010d\u010aset-cookie: b',
      'bad name': 'x',
      'transfer-encoding': 'chunked',
      'x-fine': 'ok',
    });
    assert.deepEqual(
      v.headerList.filter((_, i) => i % 2 === 0),
      ['content-type', 'x-fine', 'date', 'content-length'],
    );
    assert.doesNotMatch(v.bytes.toString('latin1'), /set-cookie/);
  });
});
