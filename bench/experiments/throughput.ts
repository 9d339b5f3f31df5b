import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkloadSummary } from '../../src/workload/summary.js';
import { withCluster } from '../lib/bench-cluster.js';
import { spawnBenchChild, spread } from '../lib/child.js';
import { BENCH_ID_BITS } from '../lib/configs.js';
import { measuredRunArgs } from '../lib/measured-run.js';

export interface ThroughputOptions {
  readonly sizes: readonly number[];
  /** Closed loop: this many clients back to back, to find where the cluster saturates. */
  readonly concurrency: readonly number[];
  /** Open loop: offered rates in req/s, to find the highest rate served with a low p99. */
  readonly rates: readonly number[];
  readonly durationMs: number;
  readonly urls: number;
  /** Runs per cell; rows report their median and spread. */
  readonly repeats: number;
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
  /** Median over the runs of the cell, as are the latencies. */
  readonly throughput_rps: number;
  /** Lowest and highest throughput of the runs. */
  readonly throughput_spread?: { min: number; max: number };
  /** Summed over the runs. */
  readonly errors: number;
  readonly latency_ms: { p50: number; p99: number };
  readonly hit_rate: number;
  /** Pacing, summed over the runs (open loop; 0 in closed loop): starts behind schedule, starts that waited for a slot. */
  readonly late_starts?: number;
  readonly cap_waits?: number;
  /** The largest start lag of any run, ms. */
  readonly max_start_lag_ms?: number;
  /** Open loop: false when the median run served less than 95 % of the offered rate. */
  readonly rate_served?: boolean;
  readonly runs?: number;
}

/** An open-loop cell counts as served at this share of its offered rate. */
export const SERVED_SHARE = 0.95;

/**
 * Open loop: at most this many requests in flight, so at most this many connections, as wrk2's
 * fixed `-c`. With 2 000 allowed, every stall of the cluster made the generator open a new
 * connection for each request that fell due (each one through the balancer to a node), which
 * deepened the stall: on one 8-node cluster at 3 000 req/s, three alternating pairs measured p99
 * 17, 78 and 43 ms at 96 against 38, 142 and 87 ms at 2 000. A request the cap holds back still
 * counts its wait in its latency (from its scheduled start) and as a cap wait.
 */
export const PACED_CAP = 96;

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
        const common = ['--target', balancer!, '--urls', String(options.urls), '--zipf', '1.2', '--seed', '5', '--url-template', `${origin}/obj/{i}`, '--timeout', '30s'];
        await workload([...common, '--requests', String(4 * options.urls), '--concurrency', '64']); // warm
        const measure = async (concurrency: number, rate?: number) => {
          const load = measuredRunArgs(options.durationMs, concurrency, rate);
          const runs: WorkloadSummary[] = [];
          for (let i = 0; i < options.repeats; i++) runs.push(await workload([...common, ...load]));
          const served = spread(runs.map((r) => r.ok_rps));
          const sum = (pick: (r: WorkloadSummary) => number) => runs.reduce((total, r) => total + pick(r), 0);
          const row: ThroughputRow = {
            system: system.name,
            nodes,
            concurrency,
            rate,
            throughput_rps: served.median,
            throughput_spread: { min: served.min, max: served.max },
            errors: sum((r) => r.errors),
            latency_ms: { p50: spread(runs.map((r) => r.latency_ms.p50)).median, p99: spread(runs.map((r) => r.latency_ms.p99)).median },
            hit_rate: spread(runs.map((r) => r.hit_rate)).median,
            late_starts: sum((r) => r.late_starts),
            cap_waits: sum((r) => r.cap_waits),
            max_start_lag_ms: Math.max(...runs.map((r) => r.max_start_lag_ms)),
            rate_served: rate === undefined ? undefined : served.median >= SERVED_SHARE * rate,
            runs: runs.length,
          };
          rows.push(row);
          const load_ = rate === undefined ? `c=${String(concurrency).padStart(4)}` : `${String(rate).padStart(4)}/s`;
          const pacing = rate === undefined ? '' : `, ${row.late_starts} late starts, ${row.cap_waits} cap waits${row.rate_served ? '' : ', RATE NOT SERVED'}`;
          log(`through  ${system.name.padEnd(12)} N=${String(nodes).padStart(2)} ${load_}: ${row.throughput_rps.toFixed(0)} req/s (${served.min.toFixed(0)}–${served.max.toFixed(0)}), p50 ${row.latency_ms.p50.toFixed(1)} ms, p99 ${row.latency_ms.p99.toFixed(1)} ms, ${row.errors} errors${pacing}`);
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

/** One cache-workload run in a process of its own, so generating load does not share the benchmark's event loop. */
async function workload(args: readonly string[]): Promise<WorkloadSummary> {
  const file = join(mkdtempSync(join(tmpdir(), 'throughput-')), 'summary.json');
  const run = spawnBenchChild(process.execPath, ['dist/cli/cache-workload.js', ...args, '--json', file, '--output', '-']);
  const output = await run.done;
  if (run.child.exitCode !== 0) throw new Error(`cache-workload ${args.join(' ')} failed: ${output}`);
  return JSON.parse(readFileSync(file, 'utf8')) as WorkloadSummary;
}
