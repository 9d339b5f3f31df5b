import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestRates, bandPath, formatBytes, fraction, shortNames, totals, traceQuery, xCacheShares, type Member } from '../../dashboard/model.js';

function member(addr: string, share: number, figures: Member['figures']): Member {
  return { id: '0x00', addr, share, status: 'READY', predecessor: null, successors: [], pointers: [], figures };
}

describe('dashboard - model', () => {
  it('places ids on the ring as fractions of a turn, also beyond 52 bits', () => {
    assert.equal(fraction('0x0', 66), 0);
    assert.equal(fraction('0x20000000000000000', 66), 0.5);
    assert.equal(fraction('0x' + 'f'.repeat(40), 160), 1 - 2 ** -52);
    assert.equal(fraction('0x40', 8), 0.25);
  });

  it('draws a band clockwise from one turn to the next, and a whole turn for a single node', () => {
    assert.match(bandPath(0, 0.25, 90, 100, 100), /^M100\.00,0\.00 A100,100 0 0 1 200\.00,100\.00 L190\.00,100\.00 A90,90 0 0 0 100\.00,10\.00 Z$/);
    assert.match(bandPath(0.7, 0.25, 90, 100, 100), / 0 1 1 /, 'wrapping past 0, more than half a turn: the large arc');
    assert.match(bandPath(0.8, 0.25, 90, 100, 100), / 0 0 1 /, 'wrapping past 0, less than half a turn');
    assert.equal(bandPath(0.3, 0.3, 90, 100, 100).split('Z').length, 3, 'one node owns the whole ring: two halves');
  });

  it('reads the tracer input as a URL or a hex key that fits the ring, with a message otherwise', () => {
    assert.deepEqual(traceQuery(' http://127.0.0.1:9000/obj/1?a=b ', 66), { query: 'url=' + encodeURIComponent('http://127.0.0.1:9000/obj/1?a=b') });
    assert.deepEqual(traceQuery('0x1F', 66), { query: 'key=1f' });
    assert.deepEqual(traceQuery('3' + 'f'.repeat(16), 66), { query: 'key=3' + 'f'.repeat(16) });
    for (const bad of ['', 'zz', 'ftp://x/', '4' + '0'.repeat(16), 'http://']) assert.ok('error' in traceQuery(bad, 66), bad);
  });

  it('computes requests/s from successive polls, and starts over when a count goes down', () => {
    const rates = new RequestRates();
    rates.update([member('a', 1, { requests: 10 })], 0);
    assert.equal(rates.rate('a'), undefined);
    rates.update([member('a', 1, { requests: 40 })], 2000);
    assert.equal(rates.rate('a'), 15);
    rates.update([member('a', 1, { requests: 5 })], 3000);
    assert.equal(rates.rate('a'), 0);
    rates.update([member('b', 1, { requests: 5 })], 4000);
    assert.equal(rates.rate('a'), undefined, 'a node gone from the ring has no rate');
  });

  it('adds up the ring: answers by X-Cache, request-weighted hops, median p50 and worst p99, hot URLs once each', () => {
    const rates = new RequestRates();
    const a = member('a', 0.25, {
      requests: 30,
      by_x_cache: { 'HIT-DHT': 20, 'MISS-DHT': 10 },
      hops_avg: 2,
      latency_ms_p50: 3,
      latency_ms_p99: 40,
      origin_fetches: 4,
      cache_bytes: 100,
      cache_entries: 2,
      hot_urls: [{ url: 'u', rate: 5 }],
    });
    const b = member('b', 0.75, { requests: 10, by_x_cache: { 'HIT-LOCAL': 10 }, hops_avg: 0, latency_ms_p50: 1, latency_ms_p99: 9, hot_urls: [{ url: 'u', rate: 7 }] });
    const c = member('c', 0, {}); // unreachable: no figures
    const t = totals([a, b, c], rates);
    assert.equal(t.share, 1);
    assert.equal(t.requests, 40);
    assert.equal(t.hopsMean, 1.5);
    assert.equal(t.latencyP50Median, 1);
    assert.equal(t.latencyP99Max, 40);
    assert.equal(t.originFetches, 4);
    assert.deepEqual(t.hotUrls, [{ url: 'u', rate: 7 }]);
    assert.equal(t.rps, undefined, 'no rate before the second poll');
    const answers = xCacheShares(t.byXCache);
    assert.equal(answers.total, 40);
    assert.equal(answers.hitRate, 30 / 40);
    assert.equal(answers.shares.find((s) => s.value === 'MISS-DHT')?.share, 0.25);
    assert.equal(xCacheShares({}).hitRate, undefined);
  });

  it('names nodes briefly: the port on one host, the first label of DNS names', () => {
    assert.deepEqual([...shortNames(['127.0.0.1:4001', '127.0.0.1:4002']).values()], [':4001', ':4002']);
    assert.deepEqual([...shortNames(['dht-node-0.dht-headless.ns.svc:4000', 'dht-node-1.dht-headless.ns.svc:4000']).values()], ['dht-node-0', 'dht-node-1']);
    assert.deepEqual([...shortNames(['10.0.0.1:4000', '10.0.0.2:4000']).values()], ['10.0.0.1:4000', '10.0.0.2:4000']);
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(3 * 1024 ** 3), '3.0 GiB');
  });
});
