import { createHash } from 'node:crypto';
import { freeClusterBase } from '../../src/cluster/free-ports.js';
import { LocalCluster } from '../../src/cluster/local-cluster.js';
import { SyntheticOrigin } from '../../src/synthetic/origin-server.js';
import { runWorkload } from '../../src/workload/run.js';
import { withCluster } from '../lib/bench-cluster.js';
import { BENCH_ID_BITS } from '../lib/configs.js';

export interface ChurnOptions {
  readonly urls: number;
  readonly requestsPerPhase: number;
  readonly rate: number;
  /** Upkeep periods of the clusters: production for measurements, fast for quick test runs. */
  readonly upkeep?: 'production' | 'fast';
}

export interface ChurnRow {
  readonly system: string;
  /** Hit rate of phase 1 (4 nodes), 2 (one left), 3 (one joined), with and without the membership changes. */
  readonly churn: readonly number[];
  readonly no_churn: readonly number[];
  /** Over all three phases. */
  readonly churn_total: number;
  readonly no_churn_total: number;
}

const PHASES = 3;

/**
 * The original system's churn experiment, done honestly: 4 → 3 → 4 nodes (a scale-down, so the
 * leaving node gets SIGTERM as Kubernetes sends it, then a new node), a paced Zipf(1.2)
 * workload per phase; Koorde k=4, Chord, and a simple-hash baseline: independent caches picked
 * by hash(url) mod n, which remaps most URLs whenever n changes.
 */
export async function churnExperiment(options: ChurnOptions, log: (line: string) => void): Promise<ChurnRow[]> {
  const rows: ChurnRow[] = [];
  for (const system of [
    { name: 'Koorde k=4', protocol: 'koorde' as const, degree: 4 },
    { name: 'Chord', protocol: 'chord' as const, degree: 2 },
  ]) {
    const run = (churn: boolean) =>
      withCluster({ nodes: 4, protocol: system.protocol, degree: system.degree, env: { DHT_ID_BITS: String(BENCH_ID_BITS) }, upkeep: options.upkeep }, async ({ cluster, origin }) => {
        const rates: number[] = [];
        for (let phase = 1; phase <= PHASES; phase++) {
          if (churn && phase === 2) await cluster.stopNode(cluster.nodes[1]!, 'SIGTERM');
          if (churn && phase === 3) {
            cluster.addNode();
            await cluster.waitReady(60_000);
          }
          const live = cluster.nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null).map((n) => n.http);
          rates.push(await phaseHitRate(live, origin, options, phase, 'round-robin'));
        }
        return rates;
      });
    rows.push(row(system.name, await run(true), await run(false)));
    log(`churn    ${system.name.padEnd(12)} ${describe(rows[rows.length - 1]!)}`);
  }
  rows.push(row('simple hash', await simpleHash(options, true), await simpleHash(options, false)));
  log(`churn    ${'simple hash'.padEnd(12)} ${describe(rows[rows.length - 1]!)}`);
  return rows;
}

/** Independent one-node caches; the client sends each URL to cache number hash(url) mod n. */
async function simpleHash(options: ChurnOptions, churn: boolean): Promise<number[]> {
  const origin = new SyntheticOrigin({ port: 0 });
  const originUrl = await origin.listen();
  const caches: LocalCluster[] = [];
  const start = async () => {
    const cache = new LocalCluster({ nodes: 1, protocol: 'chord', degree: 2, basePort: await freeClusterBase(1), env: { LOGGER_LEVEL: 'warn', CACHE_ORIGIN_ALLOWLIST: '127.0.0.1' } });
    cache.start();
    await cache.waitReady(30_000);
    caches.push(cache);
  };
  try {
    for (let i = 0; i < 4; i++) await start();
    const rates: number[] = [];
    for (let phase = 1; phase <= PHASES; phase++) {
      if (churn && phase === 2) await caches.splice(1, 1)[0]!.stop();
      if (churn && phase === 3) await start();
      rates.push(await phaseHitRate(caches.map((c) => c.nodes[0]!.http), originUrl, options, phase, 'hash'));
    }
    return rates;
  } finally {
    for (const cache of caches) await cache.stop();
    await origin.close();
  }
}

async function phaseHitRate(targets: string[], origin: string, options: ChurnOptions, phase: number, routing: 'round-robin' | 'hash'): Promise<number> {
  const urlTemplate = `${origin}/obj/{i}`;
  if (routing === 'round-robin') {
    const s = await runWorkload({ targets, urls: options.urls, requests: options.requestsPerPhase, rate: options.rate, zipf: 1.2, seed: phase, concurrency: 16, urlTemplate });
    return s.hit_rate;
  }
  // Hash routing: one paced run per cache, each with the URLs that hash to it, by rank.
  let hits = 0;
  let ok = 0;
  await runWorkload({
    targets,
    urls: options.urls,
    requests: options.requestsPerPhase,
    rate: options.rate,
    zipf: 1.2,
    seed: phase,
    concurrency: 16,
    urlTemplate,
    route: (urlId) => targets[bucket(`${origin}/obj/${urlId}`, targets.length)]!,
    onSample: (s, measured) => {
      if (!measured || !s.status || s.status >= 400) return;
      ok++;
      if (s.cacheStatus?.startsWith('HIT') || s.cacheStatus === 'REVALIDATED') hits++;
    },
  });
  return ok ? hits / ok : 0;
}

function bucket(url: string, n: number): number {
  return createHash('sha1').update(url).digest().readUInt32BE(0) % n;
}

function row(system: string, churn: number[], noChurn: number[]): ChurnRow {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { system, churn, no_churn: noChurn, churn_total: mean(churn), no_churn_total: mean(noChurn) };
}

function describe(r: ChurnRow): string {
  const pct = (xs: readonly number[]) => xs.map((x) => `${(100 * x).toFixed(1)} %`).join(' → ');
  return `churn ${pct(r.churn)} (total ${(100 * r.churn_total).toFixed(1)} %); no churn ${pct(r.no_churn)}`;
}
