/**
 * npm run bench:cache — an 8-node ring in front of a local origin; a Zipf(1.2) workload over
 * 10 000 URLs, round-robin over all nodes, cold and then warm. Writes bench/results/cache.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { runWorkload } from '../src/workload/run.js';
import { sumMetrics, withCluster } from './lib/bench-cluster.js';

const NODES = 8;
const URLS = 10_000;
const REQUESTS = 20_000;
const CONCURRENCY = 64;

const started = performance.now();
const result = await withCluster({ nodes: NODES, protocol: 'koorde', degree: 8 }, async ({ targets, origin }) => {
  const phase = async (name: string) => {
    const fetchesBefore = await sumMetrics(targets, (m) => m.cache.origin_fetches);
    const summary = await runWorkload({ targets, urls: URLS, requests: REQUESTS, concurrency: CONCURRENCY, zipf: 1.2, seed: 7, urlTemplate: `${origin}/obj/{i}` });
    const originRequests = (await sumMetrics(targets, (m) => m.cache.origin_fetches)) - fetchesBefore;
    process.stdout.write(`${name}: ${summary.throughput_rps.toFixed(0)} req/s, p50 ${summary.latency_ms.p50.toFixed(2)} ms, p99 ${summary.latency_ms.p99.toFixed(2)} ms, hit rate ${(100 * summary.hit_rate).toFixed(1)} %, hops ${summary.hops_mean?.toFixed(2)}, origin requests ${originRequests}\n`);
    return { phase: name, ...summary, origin_requests: originRequests };
  };
  return { cold: await phase('cold'), warm: await phase('warm') };
});

mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/cache.json',
  JSON.stringify({ nodes: NODES, protocol: 'koorde', degree: 8, urls: URLS, requests_per_phase: REQUESTS, concurrency: CONCURRENCY, zipf: 1.2, elapsed_s: (performance.now() - started) / 1000, ...result }, null, 2) + '\n',
);
process.stdout.write('wrote bench/results/cache.json\n');
