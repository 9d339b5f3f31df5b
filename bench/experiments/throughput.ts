import { runWorkload } from '../../src/workload/run.js';
import { withCluster } from '../lib/bench-cluster.js';
import { BENCH_ID_BITS } from '../lib/configs.js';

export interface ThroughputOptions {
  readonly sizes: readonly number[];
  /** Closed loop: this many clients back to back, to find where the cluster saturates. */
  readonly concurrency: readonly number[];
  /** Open loop: offered rates in req/s, to find the highest rate served with a low p99. */
  readonly rates: readonly number[];
  readonly durationMs: number;
  readonly urls: number;
  /** Upkeep periods of the clusters: production for measurements, fast for quick test runs. */
  readonly upkeep?: 'production' | 'fast';
}

export interface ThroughputRow {
  readonly system: string;
  readonly nodes: number;
  /** Clients (closed loop) or the cap on requests in flight (open loop). */
  readonly concurrency: number;
  /** Offered rate of an open-loop row; absent in closed loop. */
  readonly rate?: number;
  readonly throughput_rps: number;
  readonly errors: number;
  readonly latency_ms: { p50: number; p99: number };
  readonly hit_rate: number;
}

/** Enough in flight for any offered rate here to be limited by the cluster, not by the cap. */
const PACED_CAP = 2000;

/**
 * Warm Zipf(1.2) hits through the local balancer, per protocol and ring size: closed-loop load at
 * rising concurrency (requests per second until the machine saturates), then open-loop load at
 * rising rates (latency at a given load, as users see it) until the cluster falls behind.
 */
export async function throughputExperiment(options: ThroughputOptions, log: (line: string) => void): Promise<ThroughputRow[]> {
  const rows: ThroughputRow[] = [];
  for (const system of [
    { name: 'Koorde k=8', protocol: 'koorde' as const, degree: 8 },
    { name: 'Chord', protocol: 'chord' as const, degree: 2 },
  ]) {
    for (const nodes of options.sizes) {
      await withCluster({ nodes, protocol: system.protocol, degree: system.degree, balancer: true, env: { DHT_ID_BITS: String(BENCH_ID_BITS) }, upkeep: options.upkeep }, async ({ balancer, origin }) => {
        const workload = { targets: [balancer!], urls: options.urls, zipf: 1.2, seed: 5, urlTemplate: `${origin}/obj/{i}`, durationMs: options.durationMs, timeoutMs: 30_000 };
        await runWorkload({ ...workload, durationMs: undefined, requests: 4 * options.urls, concurrency: 64 }); // warm
        const measure = async (concurrency: number, rate?: number) => {
          const s = await runWorkload({ ...workload, concurrency, rate });
          const row = { system: system.name, nodes, concurrency, rate, throughput_rps: s.ok_rps, errors: s.errors, latency_ms: { p50: s.latency_ms.p50, p99: s.latency_ms.p99 }, hit_rate: s.hit_rate };
          rows.push(row);
          const load = rate === undefined ? `c=${String(concurrency).padStart(4)}` : `${String(rate).padStart(4)}/s`;
          log(`through  ${system.name.padEnd(12)} N=${String(nodes).padStart(2)} ${load}: ${row.throughput_rps.toFixed(0)} req/s, p50 ${row.latency_ms.p50.toFixed(1)} ms, p99 ${row.latency_ms.p99.toFixed(1)} ms, ${row.errors} errors`);
          return row;
        };
        for (const concurrency of options.concurrency) await measure(concurrency);
        for (const rate of options.rates) {
          const row = await measure(PACED_CAP, rate);
          if (row.throughput_rps < 0.9 * rate) break; // saturated: higher rates only queue
        }
      });
    }
  }
  return rows;
}
