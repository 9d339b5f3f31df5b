import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runWorkload, type WorkloadInit } from '../../src/workload/run.js';
import { formatSummary } from '../../src/workload/format.js';
import { isHit, type WorkloadSummary } from '../../src/workload/summary.js';
import { startFakeCache, type FakeAnswer, type FakeCache, type FakeRequest } from '../helpers/fake-cache.js';
import { freePorts, ProcessGroup } from '../helpers/processes.js';

const CLI = 'dist/cli/cache-workload.js';
const TEMPLATE = 'http://origin.test/obj/{i}?v=1';
const instant = (): FakeAnswer => ({ status: 200, headers: { 'x-cache': 'HIT-LOCAL', 'x-hops': '0' } });

/** The rank in an object URL made from TEMPLATE. */
function rankOf(objectUrl: string | undefined): number {
  return Number(/\/obj\/(\d+)/.exec(objectUrl ?? '')?.[1]);
}

/** A cache that answers by rank, so the test knows every header it will see. */
function byRank(rank: number): FakeAnswer {
  if (rank % 10 === 0) return { status: 503, headers: { 'content-type': 'application/json' }, body: '{"error":"ERR_NOT_READY"}' };
  if (rank === 7) return { status: 404, body: 'gone' };
  if (rank === 11) return { status: 200, body: 'no cache headers at all' };
  const node = { 'x-node-id': `node-${rank % 4}`, 'x-responsible-node': `127.0.0.1:${4000 + (rank % 5)}` };
  if (rank === 3) return { status: 304, headers: { ...node, 'x-cache': 'REVALIDATED', 'x-hops': '3' } };
  const [cache, hops] = ([['HIT-LOCAL', '0'], ['HIT-DHT', '2'], ['MISS-ORIGIN', '1']] as const)[rank % 3]!;
  return { status: 200, headers: { ...node, 'x-cache': cache, 'x-hops': hops } };
}

/** What the summary must say, tallied from what the fakes answered. */
function expectedFrom(log: readonly FakeRequest[], refused: number) {
  const answered = log.map((r) => r.answer);
  const ok = answered.filter((a) => a.status < 400);
  const byCache: Record<string, number> = {};
  for (const a of ok) byCache[a.headers?.['x-cache'] ?? 'none'] = (byCache[a.headers?.['x-cache'] ?? 'none'] ?? 0) + 1;
  const hops = ok.filter((a) => a.headers?.['x-hops'] !== undefined).map((a) => Number(a.headers!['x-hops']));
  const errors: Record<string, number> = {};
  for (const a of answered.filter((x) => x.status >= 400)) errors[`http_${a.status}`] = (errors[`http_${a.status}`] ?? 0) + 1;
  if (refused) errors.connection_refused = refused;
  return {
    ok: ok.length,
    byCache,
    hitRate: ok.filter((a) => isHit(a.headers?.['x-cache'] ?? '')).length / ok.length,
    hopsMean: hops.reduce((x, y) => x + y, 0) / hops.length,
    errors,
  };
}

const sorted = (o: Readonly<Record<string, number>>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));

describe('integration - cache-workload pacing', () => {
  let fake: FakeCache;
  before(async () => (fake = await startFakeCache(instant)));
  after(() => fake.close());

  it('sends 400 ± 5 % requests at --rate 200 for 2 s (counted at the target)', async () => {
    const summary = await runWorkload({ targets: [fake.url], rate: 200, durationMs: 2000, concurrency: 16, urlTemplate: TEMPLATE });
    const received = fake.requests.length;
    assert.ok(received >= 380 && received <= 420, `the target received ${received} requests`);
    assert.equal(summary.requests, received);
    assert.ok(summary.duration_s >= 1.99 && summary.duration_s < 2.5, `${summary.duration_s} s`);
  });

  it('reports late starts when a slow target fills the concurrency cap', async () => {
    const slow = await startFakeCache(() => ({ ...instant(), delayMs: 100 }));
    try {
      // Two slots of 100 ms serve 20 req/s; 100 req/s are asked for.
      const summary = await runWorkload({ targets: [slow.url], rate: 100, requests: 30, concurrency: 2, urlTemplate: TEMPLATE });
      assert.equal(slow.requests.length, 30);
      assert.ok(summary.cap_waits >= 20, `${summary.cap_waits} cap waits`);
      assert.ok(summary.late_starts >= 20, `${summary.late_starts} late starts`);
      assert.ok(summary.max_start_lag_ms > 500, `max lag ${summary.max_start_lag_ms} ms`);
      assert.match(formatSummary(summary, { rate: 100, concurrency: 2 }), /target could not keep up: \d+ requests started late .*max lag \d+ ms/);
    } finally {
      await slow.close();
    }
  });
});

describe('integration - cache-workload summary and outputs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cache-workload-'));
  let fakes: FakeCache[] = [];
  let closedPort: number;
  before(async () => {
    fakes = await Promise.all([startFakeCache((_, u) => byRank(rankOf(u))), startFakeCache((_, u) => byRank(rankOf(u)))]);
    [closedPort] = await freePorts(1);
  });
  after(() => Promise.all(fakes.map((f) => f.close())));

  it('counts X-Cache values, hit rate, hops and errors by kind, and writes the CSV and JSON', async () => {
    const csvPath = join(dir, 'results.csv');
    const targets = [...fakes.map((f) => f.url), `http://127.0.0.1:${closedPort}`];
    const summary = await runWorkload({ targets, urls: 40, requests: 300, concurrency: 6, zipf: 0.9, seed: 5, urlTemplate: TEMPLATE, csvPath });
    const log = fakes.flatMap((f) => f.requests);
    assert.equal(log.length, 200, 'round-robin: two thirds of the requests reach the two live targets');
    const want = expectedFrom(log, 100);

    assert.equal(summary.requests, 300);
    assert.equal(summary.ok, want.ok);
    assert.equal(summary.errors, 300 - want.ok);
    assert.deepEqual(sorted(summary.errors_by_kind), sorted(want.errors));
    assert.deepEqual(sorted(summary.by_cache_status), sorted(want.byCache));
    assert.ok(Object.keys(want.byCache).length >= 4, `a varied enough mix: ${JSON.stringify(want.byCache)}`);
    assert.ok(Math.abs(summary.hit_rate - want.hitRate) < 1e-12);
    assert.ok(Math.abs(summary.hops_mean! - want.hopsMean) < 1e-12);
    assert.ok(summary.latency_ms.p50 <= summary.latency_ms.p95 && summary.latency_ms.p95 <= summary.latency_ms.p99);
    assert.ok(summary.latency_ms.p99 <= summary.latency_ms.max && summary.latency_ms.max > 0);
    assert.ok(Math.abs(summary.throughput_rps - 300 / summary.duration_s) < 0.01 * summary.throughput_rps);

    const [header, ...rows] = readFileSync(csvPath, 'utf8').trimEnd().split('\n');
    assert.match(header!, /^timestamp,url_id,latency_ms,status,cache_status,node_id,responsible_node,hops,/);
    const columns = header!.split(',');
    const records = rows.map((line) => Object.fromEntries(line.split(',').map((v, i) => [columns[i]!, v])));
    assert.equal(records.length, 300);
    const refused = records.filter((r) => r.error === 'connection_refused');
    assert.equal(refused.length, 100);
    assert.ok(refused.every((r) => r.status === '' && r.target === targets[2]));
    const answered = records.filter((r) => r.status !== '');
    assert.deepEqual(answered.map((r) => Number(r.url_id)).sort((a, b) => a - b), log.map((r) => rankOf(r.objectUrl)).sort((a, b) => a - b));
    for (const r of answered) {
      const a = byRank(Number(r.url_id));
      assert.equal(Number(r.status), a.status);
      assert.equal(r.cache_status, a.headers?.['x-cache'] ?? '');
      assert.equal(r.hops, a.headers?.['x-hops'] ?? '');
      assert.equal(r.node_id, a.headers?.['x-node-id'] ?? '');
      assert.equal(r.responsible_node, a.headers?.['x-responsible-node'] ?? '');
      assert.equal(r.error, a.status >= 400 ? `http_${a.status}` : '');
      assert.ok(!Number.isNaN(Date.parse(r.timestamp!)) && Number(r.latency_ms) >= 0);
    }
  });

  it('requests the same URLs in the same order for a seed, popular ranks most', async () => {
    const run = async (seed: number) => {
      const fake = await startFakeCache(instant);
      await runWorkload({ targets: [fake.url], urls: 1000, requests: 200, concurrency: 1, zipf: 1.2, seed, urlTemplate: TEMPLATE });
      await fake.close();
      return fake.requests.map((r) => r.objectUrl!);
    };
    const [a, b, c] = await Promise.all([run(9), run(9), run(10)]);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.equal(new URL(a[0]!).search, '?v=1', 'the template is used as given, query and all');
    const ones = a.filter((u) => rankOf(u) === 1).length;
    assert.ok(ones > 20, `rank 1 drawn ${ones} times of 200 (Zipf(1.2) over 1000 gives it ~19 %)`);
  });

  it('gateway mode GETs the object path itself; warm-up requests reach onSample only', async () => {
    const fake = await startFakeCache(instant);
    try {
      const measured: boolean[] = [];
      const summary = await runWorkload({ targets: [`${fake.url}/`], urls: 5, requests: 10, warmup: 4, mode: 'gateway', urlTemplate: TEMPLATE, onSample: (_, m) => measured.push(m) });
      assert.equal(fake.requests.length, 14);
      assert.equal(summary.requests, 10);
      assert.deepEqual(measured, [...Array<boolean>(4).fill(false), ...Array<boolean>(10).fill(true)]);
      for (const r of fake.requests) assert.match(r.path, /^\/obj\/[1-5]\?v=1$/);
    } finally {
      await fake.close();
    }
  });

  it('tells timeouts and dropped connections apart', async () => {
    const fake = await startFakeCache((_, u) => (rankOf(u) % 2 ? { ...instant(), delayMs: 1000 } : { status: 200, reset: true }));
    try {
      const summary = await runWorkload({ targets: [fake.url], urls: 2, zipf: 0.5, requests: 20, concurrency: 20, timeoutMs: 150, urlTemplate: TEMPLATE });
      const refusedOrOther = summary.requests - (summary.errors_by_kind.timeout ?? 0) - (summary.errors_by_kind.connection_reset ?? 0);
      assert.equal(summary.ok, 0);
      assert.equal(refusedOrOther, 0, JSON.stringify(summary.errors_by_kind));
      assert.deepEqual(
        [summary.errors_by_kind.timeout, summary.errors_by_kind.connection_reset],
        [fake.requests.filter((r) => r.answer.delayMs).length, fake.requests.filter((r) => r.answer.reset).length],
      );
    } finally {
      await fake.close();
    }
  });

  it('takes defaults for options left undefined', async () => {
    const fake = await startFakeCache(instant);
    try {
      const summary = await runWorkload({ targets: [fake.url], requests: 5, zipf: undefined, concurrency: undefined, urlTemplate: TEMPLATE });
      assert.equal(summary.ok, 5);
    } finally {
      await fake.close();
    }
  });

  it('refuses bad options before sending anything, naming every problem', async () => {
    const bad: WorkloadInit = { targets: ['ftp://x'], zipf: 0, urlTemplate: 'http://o/obj', requests: 5, durationMs: 1000 };
    await assert.rejects(runWorkload(bad), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_INVALID_ARGUMENT');
      for (const flag of ['target', '--zipf', '--url-template', '--requests or --duration']) assert.ok(err.message.includes(flag), err.message);
      return true;
    });
  });
});

describe('integration - cache-workload command', () => {
  const group = new ProcessGroup();
  const dir = mkdtempSync(join(tmpdir(), 'cache-workload-cli-'));
  let fake: FakeCache;
  before(async () => (fake = await startFakeCache((_, u) => byRank(rankOf(u)))));
  after(async () => {
    await group.stopAll();
    await fake.close();
  });

  it('runs, prints the summary, and writes the docs/api.md JSON and the CSV', async () => {
    const [json, csv] = [join(dir, 'summary.json'), join(dir, 'results.csv')];
    const proc = group.node('workload', CLI, ['--target', fake.url, '--urls', '30', '--requests', '120', '--rate', '400', '--concurrency', '8', '--url-template', TEMPLATE, '--json', json, '--output', csv, '--warmup', '10']);
    assert.equal(await proc.exited, 0, proc.output());
    assert.equal(fake.requests.length, 130, 'warm-up requests are sent but not counted');
    const out = proc.output();
    assert.match(out, /^cache-workload: warm-up of 10 requests done, measuring$/m);
    assert.match(out, /^requests +120 in [\d.]+ s: \d+ ok, \d+ errors$/m);
    assert.match(out, /^latency ms +p50 [\d.]+ +p95 [\d.]+ +p99 [\d.]+ +max [\d.]+/m);
    assert.match(out, /^X-Cache +.*HIT-LOCAL \d+ \([\d.]+ %\)/m);
    assert.match(out, /^hit rate +[\d.]+ % of ok responses/m);
    assert.ok(!out.includes('\u001b'), 'no progress bar (or any escape code) when stderr is not a terminal');

    const summary = JSON.parse(readFileSync(json, 'utf8')) as WorkloadSummary;
    for (const field of ['requests', 'ok', 'errors', 'duration_s', 'throughput_rps', 'hit_rate', 'hops_mean'] as const) assert.equal(typeof summary[field], 'number', field);
    for (const field of ['p50', 'p95', 'p99', 'max'] as const) assert.equal(typeof summary.latency_ms[field], 'number', field);
    const want = expectedFrom(fake.requests.slice(10), 0);
    assert.equal(summary.requests, 120);
    assert.equal(summary.ok, want.ok);
    assert.equal(summary.errors, 120 - want.ok);
    assert.deepEqual(sorted(summary.by_cache_status), sorted(want.byCache));
    assert.equal(readFileSync(csv, 'utf8').trimEnd().split('\n').length, 121);
  });

  it('exits 2 with a one-line reason on bad arguments', async () => {
    const target = ['--target', fake.url];
    const cases: [string[], RegExp][] = [
      [[], /exactly one of --target URL and --targets/],
      [[...target, '--targets', `${fake.url},${fake.url}`], /exactly one of --target/],
      [[...target, '--zipf', '0'], /--zipf must be a number > 0/],
      [[...target, '--zipf', 'steep'], /expected a number/],
      [[...target, '--rate', '0'], /--rate must be > 0/],
      [[...target, '--url-template', 'http://origin/obj'], /--url-template must contain \{i\}/],
      [[...target, '--requests', '10', '--duration', '1s'], /--requests or --duration, not both/],
      [[...target, '--mode', 'proxy'], /expected one of cache, gateway/],
      [[...target, '--duration', 'soon'], /expected a duration/],
      [['--target', 'localhost:8080'], /must be an absolute http\(s\) URL|must be an http\(s\) URL/],
      [[...target, '--output', join(dir, 'missing', 'r.csv')], /--output: cannot write into the folder/],
    ];
    await Promise.all(
      cases.map(async ([args, reason]) => {
        const proc = group.node('bad-args', CLI, args);
        assert.equal(await proc.exited, 2, `${args.join(' ')}: ${proc.output()}`);
        assert.match(proc.output(), reason);
        assert.equal(proc.output().trim().split('\n').length, 1, proc.output());
      }),
    );
    assert.equal(fake.requests.length, 130, 'no bad invocation sent a request');
  });
});
