import { runWorkload } from '../../src/workload/run.js';
import { withCluster } from '../lib/bench-cluster.js';
import { BENCH_ID_BITS } from '../lib/configs.js';

export interface ThroughputOptions {
  readonly sizes: readonly number[];
  readonly concurrency: readonly number[];
  readonly durationMs: number;
  readonly urls: number;
  /** Upkeep periods of the clusters: production for measurements, fast for quick test runs. */
  readonly upkeep?: 'production' | 'fast';
}

export interface ThroughputRow {
  readonly system: string;
  readonly nodes: number;
  readonly concurrency: number;
  readonly throughput_rps: number;
  readonly errors: number;
  readonly latency_ms: { p50: number; p99: number };
  readonly hit_rate: number;
}

/**
 * Closed-loop load through the local balancer at rising concurrency, warm Zipf(1.2) hits, per
 * protocol and ring size: requests per second until the machine saturates.
 */
export async function throughputExperiment(options: ThroughputOptions, log: (line: string) => void): Promise<ThroughputRow[]> {
  const rows: ThroughputRow[] = [];
  for (const system of [
    { name: 'Koorde k=8', protocol: 'koorde' as const, degree: 8 },
    { name: 'Chord', protocol: 'chord' as const, degree: 2 },
  ]) {
    for (const nodes of options.sizes) {
      await withCluster({ nodes, protocol: system.protocol, degree: system.degree, balancer: true, env: { DHT_ID_BITS: String(BENCH_ID_BITS) }, upkeep: options.upkeep }, async ({ balancer, origin }) => {
        const workload = { targets: [balancer!], urls: options.urls, zipf: 1.2, seed: 5, urlTemplate: `${origin}/obj/{i}` };
        await runWorkload({ ...workload, requests: 4 * options.urls, concurrency: 64 }); // warm
        for (const concurrency of options.concurrency) {
          const s = await runWorkload({ ...workload, durationMs: options.durationMs, concurrency, timeoutMs: 30_000 });
          const row = { system: system.name, nodes, concurrency, throughput_rps: s.ok_rps, errors: s.errors, latency_ms: { p50: s.latency_ms.p50, p99: s.latency_ms.p99 }, hit_rate: s.hit_rate };
          rows.push(row);
          log(`through  ${system.name.padEnd(12)} N=${String(nodes).padStart(2)} c=${String(concurrency).padStart(4)}: ${row.throughput_rps.toFixed(0)} req/s, p50 ${row.latency_ms.p50.toFixed(1)} ms, p99 ${row.latency_ms.p99.toFixed(1)} ms, ${row.errors} errors`);
        }
      });
    }
  }
  return rows;
}
