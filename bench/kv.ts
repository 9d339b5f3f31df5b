/**
 * npm run bench:kv — 8 local nodes; concurrent clients put and get over the gRPC client API
 * for 30 s: ops/s, p50/p99 latency, lookup hops. Writes bench/results/kv.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { DhtClient } from '../src/client/dht-client.js';
import { LogHistogram } from '../src/runtime/histogram.js';
import { seededRng } from '../src/runtime/rng.js';
import { sumMetrics, withCluster } from './lib/bench-cluster.js';

const NODES = 8;
const CLIENTS = Number(process.env.KV_CLIENTS ?? 32);
const DURATION_MS = Number(process.env.KV_DURATION_MS ?? 30_000);
const KEYS = 10_000;

const result = await withCluster({ nodes: NODES, protocol: 'koorde', degree: 8 }, async ({ cluster, targets }) => {
  const grpc = cluster.nodes.map((n) => n.grpc);
  const lookupsBefore = await sumMetrics(targets, (m) => m.lookups.count);
  const hopsBefore = await sumMetrics(targets, (m) => m.lookups.count * m.lookups.hops_avg);
  const latency = { put: new LogHistogram(), get: new LogHistogram() };
  const errors: Record<string, number> = {};
  const written: number[] = [];
  const end = performance.now() + DURATION_MS;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      const rng = seededRng(c + 1);
      const client = new DhtClient(grpc[c % grpc.length]!, 5000);
      try {
        while (performance.now() < end) {
          const key = rng.int(KEYS);
          // Half puts, half gets of keys already written (so gets find something).
          const put = written.length === 0 || rng.next() < 0.5;
          const t0 = performance.now();
          try {
            if (put) await client.put(`key-${key}`, `value-${key}-${t0}`);
            else await client.get(`key-${written[rng.int(written.length)]}`);
            (put ? latency.put : latency.get).record(performance.now() - t0);
            if (put) written.push(key);
          } catch (err) {
            const kind = (err as { kind?: string }).kind ?? 'failed';
            errors[kind] = (errors[kind] ?? 0) + 1;
          }
        }
      } finally {
        client.close();
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const lookups = (await sumMetrics(targets, (m) => m.lookups.count)) - lookupsBefore;
  const hops = ((await sumMetrics(targets, (m) => m.lookups.count * m.lookups.hops_avg)) - hopsBefore) / Math.max(1, lookups);
  const ops = latency.put.count + latency.get.count;
  const figures = (h: LogHistogram) => ({ count: h.count, p50_ms: h.quantile(0.5), p99_ms: h.quantile(0.99), max_ms: h.max });
  return {
    nodes: NODES,
    protocol: 'koorde',
    degree: 8,
    clients: CLIENTS,
    duration_s: seconds,
    ops,
    ops_per_s: ops / seconds,
    put: figures(latency.put),
    get: figures(latency.get),
    errors,
    lookups,
    lookup_hops_mean: hops,
  };
});

mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/kv.json', JSON.stringify(result, null, 2) + '\n');
process.stdout.write(
  `${result.ops_per_s.toFixed(0)} ops/s over ${result.duration_s.toFixed(0)} s with ${CLIENTS} clients; ` +
    `put p50 ${result.put.p50_ms.toFixed(2)} ms p99 ${result.put.p99_ms.toFixed(2)} ms; get p50 ${result.get.p50_ms.toFixed(2)} ms p99 ${result.get.p99_ms.toFixed(2)} ms; ` +
    `lookup hops ${result.lookup_hops_mean.toFixed(2)}; errors ${JSON.stringify(result.errors)}\nwrote bench/results/kv.json\n`,
);
