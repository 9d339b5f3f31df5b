import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deltaSeconds, parseDirectives } from '../../src/cache/rfc9111/directives.js';
import { parseHttpDate } from '../../src/cache/rfc9111/http-date.js';
import { targetedDirectives } from '../../src/cache/rfc9111/targeted.js';

const SUNDAY = Date.UTC(1994, 10, 6, 8, 49, 37);

describe('RFC 9111 §5.2 - Cache-Control directives', () => {
  it('names are case-insensitive: No-Cache, MAX-AGE', () => {
    const cc = parseDirectives('No-Cache, MAX-AGE=60, Public');
    assert.equal(cc.get('no-cache'), true);
    assert.equal(cc.get('max-age'), '60');
    assert.equal(cc.get('public'), true);
  });

  it('a field on several lines is one list (RFC 9110 §5.3), and the first of a repeated directive counts (§4.2.1)', () => {
    const cc = parseDirectives(['max-age=60', 'no-store', 'max-age=5']);
    assert.equal(cc.get('max-age'), '60');
    assert.equal(cc.get('no-store'), true);
  });

  it('takes the quoted form of an argument, with its commas (§5.2)', () => {
    const cc = parseDirectives('no-cache="set-cookie, x-a", max-age="30"');
    assert.equal(cc.get('no-cache'), 'set-cookie, x-a');
    assert.equal(deltaSeconds(cc.get('max-age')), 30);
  });

  it('delta-seconds (§1.2.2) is digits only, and a huge value counts as 2^31', () => {
    assert.equal(deltaSeconds('0'), 0);
    for (const bad of ['-1', '1.5', '10s', '', ' 5', true] as const) assert.equal(deltaSeconds(bad), undefined, String(bad));
    assert.equal(deltaSeconds('99999999999999999999'), 2 ** 31);
  });
});

describe('RFC 9110 §5.6.7 - HTTP-date', () => {
  it('accepts IMF-fixdate, RFC 850 and asctime', () => {
    assert.equal(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), SUNDAY);
    assert.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT'), SUNDAY);
    assert.equal(parseHttpDate('Sun Nov  6 08:49:37 1994'), SUNDAY);
  });

  it('rejects what only looks like a date (RFC 9111 §5.3 counts such an Expires as expired)', () => {
    for (const bad of [
      'Sun, 06 Nov 1994 08:49:37 UTC',
      'Sun 06 Nov 1994 08:49:37 GMT',
      'Sun,  06 Nov 1994 08:49:37 GMT',
      'Sun, 06-Nov-1994 08:49:37 GMT',
      'Sun, 06 Nov 1994 8:49:37 GMT',
      'Sun, 06 nov 1994 08:49:37 GMT',
      'Sun, 31 Feb 1994 08:49:37 GMT',
      'Sun, 06 Nov 1994 25:49:37 GMT',
      '0',
      '-1',
      'yesterday',
      '',
    ]) {
      assert.equal(parseHttpDate(bad), undefined, bad);
    }
  });
});

describe('RFC 9213 §2 - targeted Cache-Control fields', () => {
  const targets = ['koorde-cache-control', 'cdn-cache-control'];

  it('the first valid, non-empty field of the target list wins', () => {
    const both = { 'cdn-cache-control': 'max-age=60', 'koorde-cache-control': 'no-store' };
    assert.deepEqual([...targetedDirectives(both, targets)!], [['no-store', true]]);
    assert.deepEqual([...targetedDirectives({ 'cdn-cache-control': 'max-age=60, private' }, targets)!], [['max-age', '60'], ['private', true]]);
  });

  it('is a Structured Fields dictionary (RFC 8941): lower-case keys, ?0 drops a directive, parameters are ignored', () => {
    assert.deepEqual([...targetedDirectives({ 'cdn-cache-control': 'no-store=?0, max-age=5;x=1, no-cache=?1' }, targets)!], [['max-age', '5'], ['no-cache', true]]);
  });

  it('an invalid field is ignored, and the cache falls back to the next one or to Cache-Control', () => {
    for (const bad of ['MAX-AGE=60', 'max-age=60,', 'max-age=', 'max-age=60 no-store', '']) {
      assert.equal(targetedDirectives({ 'cdn-cache-control': bad }, targets), undefined, bad);
    }
    assert.deepEqual([...targetedDirectives({ 'koorde-cache-control': 'Bad', 'cdn-cache-control': 'max-age=9' }, targets)!], [['max-age', '9']]);
  });
});
