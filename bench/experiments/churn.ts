import { createHash } from 'node:crypto';
import { freeClusterBase } from '../../src/cluster/free-ports.js';
import { LocalCluster } from '../../src/cluster/local-cluster.js';
import { SyntheticOrigin } from '../../src/synthetic/origin-server.js';
import { runWorkload } from '../../src/workload/run.js';
import { isHit } from '../../src/workload/summary.js';
import { IdSpace } from '../../src/id/id-space.js';
import { balanceOf, sharesOf, type IdStrategy } from '../../src/id/placement.js';
import { withCluster } from '../lib/bench-cluster.js';
import { BENCH_ID_BITS } from '../lib/configs.js';

export interface ChurnOptions {
  readonly urls: number;
  readonly requestsPerPhase: number;
  readonly rate: number;
  /** Runs of every system and variant; the report gives the median and the spread. */
  readonly repeats: number;
  /** Upkeep periods of the clusters: production for measurements, fast for quick test runs. */
  readonly upkeep?: 'production' | 'fast';
  /** Names of the systems to run; all of them when absent. */
  readonly systems?: readonly string[];
  /** NODE_ID_STRATEGY of the DHT systems: each DHT system runs once per strategy, with the same requests. */
  readonly idStrategies: readonly IdStrategy[];
}

/** How member 1 goes away before phase 2: not at all, SIGTERM (hand-off), SIGKILL (none). */
export const CHURN_VARIANTS = ['none', 'leave', 'crash'] as const;
export type ChurnVariant = (typeof CHURN_VARIANTS)[number];

/** One phase of one run: every request counts, an error is neither a hit nor dropped. */
export interface PhaseResult {
  readonly requests: number;
  readonly hits: number;
  readonly errors: number;
  readonly errors_by_kind: Readonly<Record<string, number>>;
  /** Live members during the phase: the mean share of one is 1 / members. */
  readonly members: number;
  /**
   * Answers by the owner that served them (X-Responsible-Node). Hot copies (HIT-HOT) are left
   * out: the entry node served those from its copy, not the owner.
   */
  readonly owner_requests: Readonly<Record<string, number>>;
  /** Distinct URLs answered by each owner, whatever their popularity: the key space without Zipf. */
  readonly owner_urls: Readonly<Record<string, number>>;
  /**
   * DHT systems: the largest share of the key space over the mean among the running members when
   * the phase starts (GET /cluster), and ids that changed during the phase (balanced nodes moving).
   */
  readonly ring?: { readonly max_share_over_mean: number; readonly id_moves: number };
}

export interface ChurnRow {
  readonly system: string;
  /** DHT systems: NODE_ID_STRATEGY of its nodes. */
  readonly id_strategy?: IdStrategy;
  /** Per variant, per run, the three phases (4 members; one gone; the same one back). */
  readonly runs: Readonly<Record<ChurnVariant, readonly (readonly PhaseResult[])[]>>;
}

const PHASES = 3;
const MEMBERS = 4;
/** The member that goes away and comes back. */
const CHURNED = 1;

/** Picks a cache for a URL among the live slots (a slot is a position the client keeps). */
type ClientRouting = (url: string, live: readonly number[]) => number;

/**
 * 4 → 3 → 4 members under a paced Zipf(1.2) workload per phase. Member 1 goes away before
 * phase 2 (SIGTERM as a Kubernetes scale-down sends it, or SIGKILL as a crash does) and comes
 * back before phase 3 in its old place: the DHT node on its old address (with hash ids its old
 * id; a balanced node joins at a balanced id again), the plain cache in its old slot. Systems: Koorde k=4 and Chord, with round robin over the live
 * nodes; and two client-side baselines over independent plain caches, `hash mod n` and
 * rendezvous hashing (consistent: only the gone cache's URLs move). The load generator is
 * told of a membership change at once, as an ideal failure detector would tell a client.
 */
export async function churnExperiment(options: ChurnOptions, log: (line: string) => void): Promise<ChurnRow[]> {
  const dhts = [
    { name: 'Koorde k=4', protocol: 'koorde' as const, degree: 4 },
    { name: 'Chord', protocol: 'chord' as const, degree: 2 },
  ];
  const clients: { name: string; routing: ClientRouting }[] = [
    { name: 'hash mod n', routing: modN },
    { name: 'rendezvous', routing: rendezvous },
  ];
  const systems = [
    ...dhts.flatMap((d) =>
      options.idStrategies.map((ids) => ({ name: d.name, id_strategy: ids, run: (variant: ChurnVariant, repeat: number) => dhtRun(d, ids, variant, options, repeat) })),
    ),
    ...clients.map((c) => ({ name: c.name, id_strategy: undefined, run: (variant: ChurnVariant, repeat: number) => clientRun(c.routing, variant, options, repeat) })),
  ];
  const rows: ChurnRow[] = [];
  for (const system of systems.filter((s) => !options.systems || options.systems.includes(s.name))) {
    const runs = { none: [], leave: [], crash: [] } as Record<ChurnVariant, PhaseResult[][]>;
    const label = system.id_strategy ? `${system.name}, ${system.id_strategy} ids` : system.name;
    for (let repeat = 0; repeat < options.repeats; repeat++) {
      for (const variant of CHURN_VARIANTS) {
        const phases = await system.run(variant, repeat);
        runs[variant].push(phases);
        log(`churn    ${label.padEnd(26)} ${variant.padEnd(6)} run ${repeat + 1}: ${describe(phases)}`);
      }
    }
    rows.push({ system: system.name, ...(system.id_strategy && { id_strategy: system.id_strategy }), runs });
  }
  return rows;
}

/**
 * The nodes start one after another (withCluster), so balanced joiners never race for one
 * interval and have no sliver to move away from (moves stay on, as by default; `ring.id_moves`
 * shows any that happen).
 */
async function dhtRun(system: { protocol: 'koorde' | 'chord'; degree: number }, idStrategy: IdStrategy, variant: ChurnVariant, options: ChurnOptions, repeat: number): Promise<PhaseResult[]> {
  const env = { DHT_ID_BITS: String(BENCH_ID_BITS), NODE_ID_STRATEGY: idStrategy };
  const init = { nodes: MEMBERS, protocol: system.protocol, degree: system.degree, env, upkeep: options.upkeep };
  return withCluster(init, async ({ cluster, origin }) => {
    const results: PhaseResult[] = [];
    for (let phase = 1; phase <= PHASES; phase++) {
      const churned = cluster.nodes[CHURNED]!;
      if (variant !== 'none' && phase === 2) await cluster.stopNode(churned, variant === 'leave' ? 'SIGTERM' : 'SIGKILL');
      if (variant !== 'none' && phase === 3) {
        cluster.restartNode(churned);
        await cluster.waitReady(60_000);
      }
      const liveNodes = cluster.nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null);
      const live = liveNodes.map((n) => n.http);
      const members = new Set(liveNodes.map((n) => n.grpc));
      const before = await ringView(live[0]!, members);
      const result = await runPhase(options, origin, { targets: live }, seedOf(repeat, phase));
      const after = await ringView(live[0]!, members);
      const idMoves = [...before.ids].filter(([addr, id]) => after.ids.has(addr) && after.ids.get(addr) !== id).length;
      results.push({ ...result, ring: { max_share_over_mean: before.maxShareOverMean, id_moves: idMoves } });
    }
    return results;
  });
}

/**
 * The ring as one member sees it: how evenly the running members split the key space, and their
 * ids by address. Right after a member goes, /cluster still lists it (even as READY, until
 * stabilization drops it) and its own balance counts it: the split here is that of the ring once
 * it has noticed.
 */
async function ringView(node: string, running: ReadonlySet<string>): Promise<{ maxShareOverMean: number; ids: Map<string, string> }> {
  const view = (await (await fetch(`${node}/cluster`)).json()) as { bits: number; members: { id: string; addr: string }[] };
  const live = view.members.filter((m) => running.has(m.addr));
  const sorted = live.map((m) => BigInt(m.id)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const { max_share_over_mean } = balanceOf(sharesOf(sorted, new IdSpace(view.bits)));
  return { maxShareOverMean: max_share_over_mean, ids: new Map(live.map((m) => [m.addr, m.id])) };
}

/** Independent one-node caches in slots 0–3; the client picks the slot of each URL. */
async function clientRun(routing: ClientRouting, variant: ChurnVariant, options: ChurnOptions, repeat: number): Promise<PhaseResult[]> {
  const origin = new SyntheticOrigin({ port: 0 });
  const originUrl = await origin.listen();
  const slots: (LocalCluster | undefined)[] = [];
  const start = async (slot: number) => {
    const cache = new LocalCluster({ nodes: 1, protocol: 'chord', degree: 2, basePort: await freeClusterBase(1), env: { LOGGER_LEVEL: 'warn', CACHE_ORIGIN_ALLOWLIST: '127.0.0.1' } });
    slots[slot] = cache;
    cache.start();
    await cache.waitReady(30_000);
  };
  try {
    // Independent caches: they start side by side (start-up is not measured).
    const started = await Promise.allSettled(Array.from({ length: MEMBERS }, (_, slot) => start(slot)));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    const results: PhaseResult[] = [];
    for (let phase = 1; phase <= PHASES; phase++) {
      if (variant !== 'none' && phase === 2) {
        const gone = slots[CHURNED]!;
        slots[CHURNED] = undefined;
        await gone.stopNode(gone.nodes[0]!, variant === 'leave' ? 'SIGTERM' : 'SIGKILL');
        await gone.stop();
      }
      if (variant !== 'none' && phase === 3) await start(CHURNED);
      const live = slots.flatMap((cache, slot) => (cache ? [slot] : []));
      const targets = slots.map((cache) => cache?.nodes[0]!.http ?? '');
      const route = (urlId: number) => targets[routing(`${originUrl}/obj/${urlId}`, live)]!;
      results.push(await runPhase(options, originUrl, { targets: live.map((slot) => targets[slot]!), route }, seedOf(repeat, phase)));
    }
    return results;
  } finally {
    for (const cache of slots) await cache?.stop();
    await origin.close();
  }
}

/** The same request sequence for every system and variant of a repeat. */
function seedOf(repeat: number, phase: number): number {
  return 100 * repeat + phase;
}

async function runPhase(options: ChurnOptions, origin: string, routing: { targets: string[]; route?: (urlId: number) => string }, seed: number): Promise<PhaseResult> {
  let requests = 0;
  let hits = 0;
  const errorsByKind: Record<string, number> = {};
  const ownerRequests: Record<string, number> = {};
  const ownerUrls = new Map<string, Set<number>>();
  await runWorkload({
    ...routing,
    urls: options.urls,
    requests: options.requestsPerPhase,
    rate: options.rate,
    zipf: 1.2,
    seed,
    concurrency: 16,
    urlTemplate: `${origin}/obj/{i}`,
    onSample: (s, measured) => {
      if (!measured) return;
      requests++;
      if (s.error !== undefined) errorsByKind[s.error] = (errorsByKind[s.error] ?? 0) + 1;
      else if (s.cacheStatus !== undefined && isHit(s.cacheStatus)) hits++;
      if (s.error !== undefined || s.responsibleNode === undefined) return;
      if (s.cacheStatus !== 'HIT-HOT') ownerRequests[s.responsibleNode] = (ownerRequests[s.responsibleNode] ?? 0) + 1;
      ownerUrls.set(s.responsibleNode, (ownerUrls.get(s.responsibleNode) ?? new Set()).add(s.urlId));
    },
  });
  const errors = Object.values(errorsByKind).reduce((a, b) => a + b, 0);
  const owner_urls = Object.fromEntries([...ownerUrls].map(([owner, urls]) => [owner, urls.size]));
  return { requests, hits, errors, errors_by_kind: errorsByKind, members: routing.targets.length, owner_requests: ownerRequests, owner_urls };
}

/** The busiest owner's share of what `count` counts, and that share over the mean share 1 / members. */
export function busiestShare(phase: PhaseResult, count: 'owner_requests' | 'owner_urls'): { share: number; overMean: number } {
  const counts = Object.values(phase[count]);
  const total = counts.reduce((a, b) => a + b, 0);
  const share = total ? Math.max(...counts) / total : 0;
  return { share, overMean: share * phase.members };
}

function score(text: string): bigint {
  return createHash('sha1').update(text).digest().readBigUInt64BE(0);
}

/** hash(url) mod n over the live slots: a change of n moves most URLs. */
function modN(url: string, live: readonly number[]): number {
  return live[Number(score(url) % BigInt(live.length))]!;
}

/** Highest random weight: each URL goes to the live slot that scores highest with it. */
function rendezvous(url: string, live: readonly number[]): number {
  let best = live[0]!;
  let bestScore = -1n;
  for (const slot of live) {
    const s = score(`slot-${slot}\n${url}`);
    if (s > bestScore) [best, bestScore] = [slot, s];
  }
  return best;
}

/** Hit rate over all requests of some phases. */
export function hitRate(phases: readonly PhaseResult[]): number {
  const requests = phases.reduce((a, p) => a + p.requests, 0);
  return requests ? phases.reduce((a, p) => a + p.hits, 0) / requests : 0;
}

function describe(phases: readonly PhaseResult[]): string {
  return phases.map((p) => `${(100 * hitRate([p])).toFixed(1)} %${p.errors ? ` (${p.errors} errors)` : ''}`).join(' → ') + `; all phases ${(100 * hitRate(phases)).toFixed(1)} %`;
}
