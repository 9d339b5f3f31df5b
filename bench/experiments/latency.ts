import { IdSpace } from '../../src/id/id-space.js';
import { runWorkload } from '../../src/workload/run.js';
import { withCluster } from '../lib/bench-cluster.js';
import { BENCH_ID_BITS, DHT_CONFIGS } from '../lib/configs.js';
import { predictedHops, type PredictedHops, type RequestedLookup } from '../lib/sim-prediction.js';

export interface LatencyOptions {
  readonly sizes: readonly number[];
  readonly requests: number;
  readonly urls: number;
  /** Open-loop request rate: well below saturation, so latency shows hops, not queueing. */
  readonly rate: number;
  readonly configs?: typeof DHT_CONFIGS;
  /** Upkeep periods of the clusters: production for measurements, fast for quick test runs. */
  readonly upkeep?: 'production' | 'fast';
}

/** One cluster run: a DHT configuration, a ring size, a hop delay, route cache on or off. */
export interface LatencyRow {
  readonly config: string;
  readonly protocol: string;
  readonly degree: number | null;
  readonly nodes: number;
  readonly hop_delay_ms: number;
  readonly route_cache: boolean;
  readonly requests: number;
  readonly errors: number;
  readonly throughput_rps: number;
  readonly latency_ms: { p50: number; p95: number; p99: number; mean: number };
  /** Mean X-Hops: node-to-node moves per request (lookup, plus the forward to the owner). */
  readonly hops_mean: number;
  /** Mean DHT lookup hops per request (X-Hops minus the forward), route cache off only. */
  readonly lookup_hops_mean: number | null;
  /** koorde-sim's mean for the same ids, entry nodes and keys (route cache off only). */
  readonly sim_lookup_hops_mean: number | null;
  /** The independent hop oracle's mean for the same lookups (route cache off only). */
  readonly oracle_lookup_hops_mean: number | null;
  /**
   * Share of lookups whose hops equal the oracle's, one by one (route cache off only): an
   * independent check. Real vs koorde-sim is only a convergence check (same routing code).
   */
  readonly oracle_agreement: { readonly real: number; readonly sim: number } | null;
  readonly hit_rate: number;
}

/** Variants per configuration and size: the lookups as they are, with a WAN-like hop delay, and with the route cache. */
const VARIANTS = [
  { hopDelayMs: 0, routeCache: false },
  { hopDelayMs: 5, routeCache: false },
  { hopDelayMs: 5, routeCache: true },
] as const;

/**
 * Latency scaling: Chord and Koorde k = 2…16 at several ring sizes, Zipf(1.2) over every node
 * round robin, measured warm at a steady rate well below saturation. With the route cache off,
 * each request's lookup hops are compared with koorde-sim on the same ring.
 */
export async function latencyScaling(options: LatencyOptions, log: (line: string) => void): Promise<LatencyRow[]> {
  const rows: LatencyRow[] = [];
  for (const config of options.configs ?? DHT_CONFIGS) {
    for (const nodes of options.sizes) {
      for (const variant of VARIANTS) {
        const env = { DHT_ID_BITS: String(BENCH_ID_BITS), DHT_HOP_DELAY: `${variant.hopDelayMs}ms`, CACHE_ROUTE_CACHE: String(variant.routeCache) };
        const row = await withCluster({ nodes, protocol: config.protocol, degree: config.degree, env, upkeep: options.upkeep }, async ({ cluster, targets, origin }) => {
          const workload = { targets, urls: options.urls, zipf: 1.2, seed: 11, concurrency: 64, urlTemplate: `${origin}/obj/{i}` };
          await runWorkload({ ...workload, requests: Math.min(options.requests, 4 * options.urls) }); // warm, closed loop: fetch, store, fill route caches
          const entryOf = new Map(cluster.nodes.map((n) => [n.http, n.grpc]));
          const lookups: RequestedLookup[] = [];
          const realHops: number[] = [];
          const space = new IdSpace(BENCH_ID_BITS);
          const summary = await runWorkload({
            ...workload,
            requests: options.requests,
            rate: options.rate,
            seed: 12,
            onSample: (s, measured) => {
              if (!measured || s.hops === undefined || !s.status || s.status >= 400) return;
              const entry = entryOf.get(s.target)!;
              realHops.push(s.hops - (s.responsibleNode === entry ? 0 : 1));
              lookups.push({ entry, key: space.hash(new URL(`${origin}/obj/${s.urlId}`).href) });
            },
          });
          let predicted: PredictedHops | undefined;
          if (!variant.routeCache) {
            const view = (await (await fetch(`${targets[0]}/cluster`)).json()) as { members: { id: string; addr: string }[] };
            predicted = await predictedHops(config, BENCH_ID_BITS, view.members.map((m) => ({ id: BigInt(m.id), addr: m.addr })), lookups);
          }
          return {
            config: config.name,
            protocol: config.protocol,
            degree: config.protocol === 'koorde' ? config.degree : null,
            nodes,
            hop_delay_ms: variant.hopDelayMs,
            route_cache: variant.routeCache,
            requests: summary.requests,
            errors: summary.errors,
            throughput_rps: summary.throughput_rps,
            latency_ms: { p50: summary.latency_ms.p50, p95: summary.latency_ms.p95, p99: summary.latency_ms.p99, mean: summary.latency_ms.mean },
            hops_mean: summary.hops_mean ?? 0,
            lookup_hops_mean: variant.routeCache ? null : mean(realHops),
            sim_lookup_hops_mean: predicted ? mean(predicted.sim) : null,
            oracle_lookup_hops_mean: predicted ? mean(predicted.oracle) : null,
            oracle_agreement: predicted ? { real: agreement(realHops, predicted.oracle), sim: agreement(predicted.sim, predicted.oracle) } : null,
            hit_rate: summary.hit_rate,
          };
        });
        rows.push(row);
        log(
          `latency  ${row.config.padEnd(12)} N=${String(nodes).padStart(2)} delay ${variant.hopDelayMs} ms route cache ${variant.routeCache ? 'on ' : 'off'}: ` +
            `p50 ${row.latency_ms.p50.toFixed(2)} ms, p99 ${row.latency_ms.p99.toFixed(2)} ms, hops ${row.hops_mean.toFixed(2)}` +
            (row.lookup_hops_mean === null
              ? ''
              : ` (lookup ${row.lookup_hops_mean.toFixed(2)}, sim ${row.sim_lookup_hops_mean!.toFixed(2)}, oracle ${row.oracle_lookup_hops_mean!.toFixed(2)}; ` +
                `equal to the oracle: real ${pct(row.oracle_agreement!.real)}, sim ${pct(row.oracle_agreement!.sim)})`) +
            `, ${row.throughput_rps.toFixed(0)} req/s`,
        );
      }
    }
  }
  return rows;
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
}

/** Share of positions where two per-lookup hop lists agree. */
function agreement(measured: readonly number[], oracle: readonly number[]): number {
  return measured.filter((h, j) => h === oracle[j]).length / Math.max(1, measured.length);
}

function pct(share: number): string {
  return `${(100 * share).toFixed(1)} %`;
}
