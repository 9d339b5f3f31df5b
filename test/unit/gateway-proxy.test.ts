import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServedResponse } from '../../src/cache/cache-service.js';
import { MAX_REQUEST_FIELDS } from '../../src/cache/cache-wire.js';
import { endToEndRequestFields, withProxyFields } from '../../src/cache/origin/headers.js';
import { answerRange } from '../../src/http/byte-ranges.js';
import { parseFetchRequest } from '../../src/transport/peer/peer-wire.js';

const client = { address: '127.0.0.7', encrypted: false };

describe('gateway - request fields passed on (RFC 9110 §7.6)', () => {
  it('§7.6.1: every end-to-end field goes on; hop-by-hop ones, those Connection names, and Host do not', () => {
    const fields = endToEndRequestFields({
      host: 'gateway.test',
      connection: 'keep-alive, X-Hop',
      'x-hop': 'no',
      'keep-alive': 'timeout=5',
      te: 'trailers',
      upgrade: 'h2c',
      'proxy-authorization': 'Basic eA==',
      'x-request-id': 'r-1',
      'accept-charset': 'utf-8',
      dnt: '1',
      'x-api-key': 'k',
      'x-multi': ['a', 'b'],
    });
    assert.deepEqual(fields, { 'x-request-id': 'r-1', 'accept-charset': 'utf-8', dnt: '1', 'x-api-key': 'k', 'x-multi': 'a, b' });
  });

  it('§7.6.3: Via is appended to the client\'s; X-Forwarded-For appends the client; X-Forwarded-Proto is kept when set', () => {
    const plain = withProxyFields({ accept: '*/*' }, client, { via: true, forwardedFor: true });
    assert.deepEqual(plain, { accept: '*/*', via: '1.1 koorde', 'x-forwarded-for': '127.0.0.7', 'x-forwarded-proto': 'http' });
    const behindProxy = withProxyFields({ via: '1.1 lb', 'x-forwarded-for': '10.0.0.1', 'x-forwarded-proto': 'https' }, client, { via: true, forwardedFor: true });
    assert.deepEqual(behindProxy, { via: '1.1 lb, 1.1 koorde', 'x-forwarded-for': '10.0.0.1, 127.0.0.7', 'x-forwarded-proto': 'https' });
    assert.equal(withProxyFields({}, { address: '::1', encrypted: true }, { via: false, forwardedFor: true })['x-forwarded-proto'], 'https');
  });

  it('CACHE_VIA=false and CACHE_FORWARDED_HEADERS=false add nothing', () => {
    const fields = { accept: '*/*', 'x-forwarded-for': '10.0.0.1' };
    assert.deepEqual(withProxyFields(fields, client, { via: false, forwardedFor: false }), fields);
  });

  it('the peer wire takes a gateway request\'s fields up to its bound and refuses more', () => {
    const request = (count: number) =>
      JSON.stringify({ url: 'http://o.test/a', method: 'GET', headers: Array.from({ length: count }, (_, i) => [`x-f${i}`, 'v']).flat() });
    assert.equal(Object.keys(parseFetchRequest(request(MAX_REQUEST_FIELDS)).req.headers).length, MAX_REQUEST_FIELDS);
    assert.throws(() => parseFetchRequest(request(MAX_REQUEST_FIELDS + 1)), { code: 'ERR_INVALID_ARGUMENT', message: /headers: expected a list of names and values of at most/ });
    const sent = JSON.stringify({ url: 'http://o.test/a', method: 'GET', headers: ['x-request-id', 'r-1', 'dnt', '1'] });
    assert.deepEqual(parseFetchRequest(sent).req.headers, { 'x-request-id': 'r-1', dnt: '1' }, 'every field arrives at the owner');
    assert.equal(parseFetchRequest(sent).interim, false, 'interim responses are relayed only when the entry asks');
    const relaying = JSON.stringify({ url: 'http://o.test/a', method: 'GET', interim: true });
    assert.equal(parseFetchRequest(relaying).interim, true);
    assert.throws(() => parseFetchRequest(JSON.stringify({ url: 'http://o.test/a', method: 'GET', interim: 'yes' })), { code: 'ERR_INVALID_ARGUMENT', message: /interim/ });
  });
});

describe('gateway - ranges from a complete stored response (RFC 9110 §14)', () => {
  const body = Buffer.from('0123456789');
  const stored = (over: Partial<ServedResponse> = {}): ServedResponse => ({
    status: 200,
    headers: { 'content-type': 'text/plain', 'content-length': '10', etag: '"v1"', 'last-modified': 'Tue, 01 Dec 2026 10:00:00 GMT', 'x-cache': 'HIT-LOCAL' },
    body,
    ...over,
  });
  const range = async (headers: Record<string, string>, served = stored()) => {
    const r = await answerRange(served, headers);
    const parts: Buffer[] = [];
    if (Buffer.isBuffer(r.body)) parts.push(r.body);
    else for await (const chunk of r.body) parts.push(chunk);
    const bytes = Buffer.concat(parts);
    return { status: r.status, range: r.headers['content-range'], body: bytes.toString(), headers: r.headers };
  };

  it('§14.2: one satisfiable range is a 206 with Content-Range, whatever its form', async () => {
    assert.deepEqual(await range({ range: 'bytes=2-4' }).then((r) => [r.status, r.range, r.body]), [206, 'bytes 2-4/10', '234']);
    assert.deepEqual(await range({ range: 'bytes=7-' }).then((r) => [r.status, r.range, r.body]), [206, 'bytes 7-9/10', '789']);
    assert.deepEqual(await range({ range: 'bytes=-3' }).then((r) => [r.status, r.range, r.body]), [206, 'bytes 7-9/10', '789']);
    assert.deepEqual(await range({ range: 'bytes=8-100' }).then((r) => [r.status, r.range, r.body]), [206, 'bytes 8-9/10', '89']);
    assert.deepEqual(await range({ range: 'bytes=-50' }).then((r) => [r.status, r.range, r.body]), [206, 'bytes 0-9/10', '0123456789']);
    const r = await range({ range: 'Bytes = 0-0' });
    assert.equal(r.body, '0');
    assert.equal(r.headers['content-length'], undefined, 'the whole body\'s length is not the part\'s');
    assert.equal(r.headers['x-cache'], 'HIT-LOCAL', 'the cache\'s own fields stay');
  });

  it('§14.2: a streamed (forwarded) body is ranged too', async () => {
    async function* chunks() {
      yield body.subarray(0, 4);
      yield body.subarray(4);
    }
    assert.equal((await range({ range: 'bytes=3-6' }, stored({ body: chunks() }))).body, '3456');
  });

  it('§15.5.17: an unsatisfiable range is a 416 that states the length', async () => {
    for (const spec of ['bytes=10-', 'bytes=20-30', 'bytes=-0']) {
      const r = await range({ range: spec });
      assert.deepEqual([r.status, r.range, r.body], [416, 'bytes */10', ''], spec);
    }
  });

  it('§14.2: the whole 200 answers several ranges, invalid ones, other units and other statuses', async () => {
    for (const spec of ['bytes=0-1,4-5', 'bytes=5-2', 'bytes=abc', 'bytes=-', 'items=0-1', '0-1']) {
      assert.deepEqual(await range({ range: spec }).then((r) => [r.status, r.body]), [200, '0123456789'], spec);
    }
    const notFound = stored({ status: 404 });
    assert.equal((await range({ range: 'bytes=0-1' }, notFound)).status, 404);
  });

  it('§13.1.5: If-Range with the same strong ETag or the exact Last-Modified gives the range; else the whole 200', async () => {
    assert.equal((await range({ range: 'bytes=0-1', 'if-range': '"v1"' })).status, 206);
    assert.equal((await range({ range: 'bytes=0-1', 'if-range': 'Tue, 01 Dec 2026 10:00:00 GMT' })).status, 206);
    assert.equal((await range({ range: 'bytes=0-1', 'if-range': '"v0"' })).status, 200, 'another entity-tag');
    assert.equal((await range({ range: 'bytes=0-1', 'if-range': 'W/"v1"' })).status, 200, 'a weak tag never matches');
    assert.equal((await range({ range: 'bytes=0-1', 'if-range': 'Mon, 30 Nov 2026 10:00:00 GMT' })).status, 200, 'another date');
    assert.equal((await range({ range: 'bytes=0-1', 'if-range': '"v1"' }, stored({ headers: { etag: 'W/"v1"' } }))).status, 200, 'a weak stored ETag');
  });
});
