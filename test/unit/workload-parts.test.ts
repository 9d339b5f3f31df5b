import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Sample } from '../../src/workload/client.js';
import { CSV_COLUMNS, csvRow } from '../../src/workload/csv.js';
import { Deadlines } from '../../src/workload/deadlines.js';
import { isSuccess, transportErrorKind } from '../../src/workload/error-kind.js';
import { formatSummary } from '../../src/workload/format.js';
import { objectUrl, requestPath, targetAddress, templateProblem } from '../../src/workload/request-url.js';
import { SummaryRecorder, isHit } from '../../src/workload/summary.js';

const sample = (over: Partial<Sample>): Sample => ({ urlId: 1, target: 'http://t', startedAt: 0, latencyMs: 1, bytes: 0, status: 200, ...over });
const NO_PACING = { lateStarts: 0, capWaits: 0, maxLagMs: 0, started: 0 };

describe('workload - request deadlines', () => {
  it('aborts a request that outlives its deadline with a TimeoutError, and not one that ended', async () => {
    const deadlines = new Deadlines(40);
    const aborted: string[] = [];
    let lateReason: unknown;
    let lateAfterMs = 0;
    const start = performance.now();
    deadlines.start((reason) => {
      aborted.push('late');
      lateReason = reason;
      lateAfterMs = performance.now() - start;
    });
    const ended = deadlines.start(() => aborted.push('ended'));
    deadlines.end(ended);
    // Read when it fired rather than at a fixed instant: a loaded machine runs timers late.
    for (let waited = 0; aborted.length === 0 && waited < 2000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(lateAfterMs >= 40, `none before the deadline (fired after ${lateAfterMs} ms)`);
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.deepEqual(aborted, ['late']);
    assert.equal(transportErrorKind(lateReason), 'timeout', 'counted as a timeout');
    let abortedLater = false;
    deadlines.start(() => (abortedLater = true));
    for (let waited = 0; !abortedLater && waited < 2000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(abortedLater, 'the sweep starts again after it stopped with nothing in flight');
  });
});

describe('workload - request urls', () => {
  it('fills every {i} and percent-encodes the object URL for /cache', () => {
    const object = objectUrl('http://origin:9000/obj/{i}?copy={i}&x=a b', 42);
    assert.equal(object, 'http://origin:9000/obj/42?copy=42&x=a b');
    assert.equal(requestPath(object, 'cache'), '/cache?url=http%3A%2F%2Forigin%3A9000%2Fobj%2F42%3Fcopy%3D42%26x%3Da%20b');
    assert.equal(new URL(requestPath(object, 'cache'), 'http://lb:8080').searchParams.get('url'), object);
    assert.equal(requestPath(object, 'gateway'), '/obj/42?copy=42&x=a%20b');
  });

  it('sends to a target at its root or under the path it is mounted at', () => {
    assert.deepEqual(targetAddress('http://lb:8080/'), { origin: 'http://lb:8080', prefix: '' });
    assert.deepEqual(targetAddress('http://lb:8080'), { origin: 'http://lb:8080', prefix: '' });
    assert.deepEqual(targetAddress('https://cache.example:443/edge//'), { origin: 'https://cache.example', prefix: '/edge' });
  });

  it('explains a template without {i} or that is no http(s) URL', () => {
    assert.equal(templateProblem('http://o/obj/{i}'), undefined);
    assert.match(templateProblem('http://o/obj')!, /must contain \{i\}/);
    assert.match(templateProblem('/obj/{i}')!, /absolute http\(s\) URL/);
    assert.match(templateProblem('ftp://o/{i}')!, /http\(s\) URL/);
  });
});

describe('workload - error kinds', () => {
  it('counts 2xx and 3xx as success only', () => {
    assert.deepEqual([199, 200, 304, 399, 400, 503].map(isSuccess), [false, true, true, true, false, false]);
  });

  it('names transport failures by code, through causes', () => {
    const err = (code: string) => Object.assign(new Error(code), { code });
    assert.equal(transportErrorKind(err('ECONNREFUSED')), 'connection_refused');
    assert.equal(transportErrorKind(new TypeError('fetch failed', { cause: err('ECONNRESET') })), 'connection_reset');
    assert.equal(transportErrorKind(err('UND_ERR_SOCKET')), 'connection_reset');
    assert.equal(transportErrorKind(err('UND_ERR_CONNECT_TIMEOUT')), 'timeout');
    assert.equal(transportErrorKind(new DOMException('deadline', 'TimeoutError')), 'timeout');
    assert.equal(transportErrorKind(new Error('odd')), 'other');
    assert.equal(transportErrorKind(undefined), 'other');
  });
});

describe('workload - summary', () => {
  it('counts hits as HIT-* or REVALIDATED', () => {
    assert.deepEqual(['HIT-LOCAL', 'HIT-DHT', 'HIT-HOT', 'REVALIDATED', 'MISS-ORIGIN', 'MISS-DHT'].map(isHit), [true, true, true, true, false, false]);
  });

  it('takes latency quantiles over ok responses only, exact at the top', () => {
    const recorder = new SummaryRecorder();
    for (let ms = 1; ms <= 100; ms++) recorder.record(sample({ latencyMs: ms, cacheStatus: 'HIT-LOCAL' }));
    recorder.record(sample({ latencyMs: 0.01, status: 503, error: 'http_503' }));
    const s = recorder.summary(2000, NO_PACING);
    assert.equal(s.requests, 101);
    assert.equal(s.errors, 1);
    assert.ok(Math.abs(s.latency_ms.p50 - 50) <= 0.05 && Math.abs(s.latency_ms.p99 - 99) <= 0.1, JSON.stringify(s.latency_ms));
    assert.equal(s.latency_ms.max, 100);
    assert.equal(s.latency_ms.mean, 50.5);
    assert.equal(s.throughput_rps, 50.5);
    assert.equal(s.hit_rate, 1);
    assert.equal(s.hops_mean, null);
  });

  it('has nothing to divide by without ok responses', () => {
    const recorder = new SummaryRecorder();
    recorder.record(sample({ status: undefined, error: 'connection_refused' }));
    const s = recorder.summary(0, NO_PACING);
    assert.deepEqual([s.ok, s.hit_rate, s.throughput_rps, s.latency_ms.p99, s.hops_mean], [0, 0, 0, 0, null]);
    assert.match(formatSummary(s, { concurrency: 1 }), /errors +connection_refused 1/);
  });
});

describe('workload - csv', () => {
  it('writes one cell per column, empty where a value is missing, quoted where needed', () => {
    const row = csvRow(sample({ startedAt: Date.UTC(2025, 0, 2, 3, 4, 5, 6), urlId: 9, latencyMs: 1.23456, cacheStatus: 'HIT-DHT', nodeId: 'a,"b"', hops: 2 }));
    assert.equal(row, '2025-01-02T03:04:05.006Z,9,1.235,200,HIT-DHT,"a,""b""",,2,http://t,0,');
    assert.equal(csvRow(sample({})).split(',').length, CSV_COLUMNS.length);
  });
});
