/**
 * npm run bench:balance — how evenly a real local cluster splits the key space over time. Starts
 * N built nodes (Koorde k=8, 66-bit ids, default upkeep) with one NODE_ID_STRATEGY, all at once
 * (as `koorde-cluster up` does) or one by one (each once the ring holds the ones before it), and
 * every --every seconds reads GET /cluster from the first node that answers: the ring's size, its
 * largest and smallest share over the mean, and the ids that changed since the previous look
 * (balanced nodes moving after racing joins). Stops at --minutes, or once the whole ring has shown
 * no id change for --quiet-minutes (default 3; later placement checks may still move a node, which
 * a --quiet-minutes above --minutes waits for). Writes OUT/balance-<strategy>-n<N>[-one-by-one].json
 * and redraws OUT/balance.svg from every such file there.
 *
 *   npm run bench:balance -- --nodes 64 --id-strategy balanced --minutes 12
 *   npm run bench:balance -- --nodes 64 --id-strategy hash --minutes 4 --out docs/benchmarks
 *   npm run bench:balance -- --nodes 64 --arrival one-by-one --minutes 20
 *   npm run bench:balance -- --nodes 64 --minutes 50 --quiet-minutes 60   # every later placement check
 *   npm run bench:balance -- --nodes 8 --base-port 30000   # ports 30000…, 31000…, 32000… instead of a free range picked at random
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLUSTER_PORT_OFFSETS, ephemeralLow, freeClusterBase } from '../src/cluster/free-ports.js';
import { LocalCluster } from '../src/cluster/local-cluster.js';
import { ID_STRATEGIES, type IdStrategy } from '../src/id/placement.js';
import { lineChart } from './lib/svg-chart.js';

/** A ring this long without an id change counts as settled (a balanced node's later checks may still move it). */
const DEFAULT_QUIET_MINUTES = 3;
/** The longest a node may take to join when they start one by one. */
const JOIN_TIMEOUT_MS = 120_000;
/** The longest one look at /cluster may take on a loaded machine. */
const VIEW_TIMEOUT_MS = 25_000;

interface Sample {
  /** Seconds since the nodes were started. */
  readonly t_s: number;
  /** Members the walk found, and how many of them said READY. */
  readonly size: number;
  readonly ready: number;
  readonly max_share_over_mean: number;
  readonly min_share_over_mean: number;
  readonly gini: number;
  /** Members seen in both this look and the previous one whose id changed. */
  readonly moved: number;
  readonly load_average_1m: number;
}

type Arrival = 'at-once' | 'one-by-one';

interface BalanceRun {
  readonly nodes: number;
  readonly id_strategy: IdStrategy;
  /** Absent in the runs from before nodes could start one by one: those started at once. */
  readonly arrival?: Arrival;
  readonly command: string;
  readonly machine: { readonly cpu: string; readonly cpus: number; readonly node: string };
  /** Seconds from the start until the whole ring was READY and had its last id change; null if it never settled. */
  readonly settled_at_s: number | null;
  readonly samples: readonly Sample[];
}

interface ClusterView {
  readonly size: number;
  readonly balance: { readonly max_share_over_mean: number; readonly min_share_over_mean: number; readonly gini: number };
  readonly members: readonly { readonly id: string; readonly addr: string; readonly status: string }[];
}

const { values } = parseArgs({ options: { nodes: { type: 'string' }, 'id-strategy': { type: 'string' }, minutes: { type: 'string' }, every: { type: 'string' }, out: { type: 'string' }, 'base-port': { type: 'string' }, arrival: { type: 'string' }, 'quiet-minutes': { type: 'string' } } });
const nodes = Number(values.nodes ?? 64);
const strategy = (values['id-strategy'] ?? 'balanced') as IdStrategy;
const minutes = Number(values.minutes ?? 12);
const everyS = Number(values.every ?? 30);
const arrival = (values.arrival ?? 'at-once') as Arrival;
const quietMinutes = Number(values['quiet-minutes'] ?? DEFAULT_QUIET_MINUTES);
const out = values.out ?? 'bench/results';
/** The nodes' first gRPC port (HTTP ports 1000 higher, peer ports 2000): a free range is picked when absent. */
const basePort = values['base-port'] === undefined ? undefined : Number(values['base-port']);
const ephemeral = ephemeralLow();
const problems = [
  Number.isInteger(nodes) && nodes >= 2 && nodes <= 256 ? '' : `--nodes must be an integer from 2 to 256, got ${values.nodes}`,
  ID_STRATEGIES.includes(strategy) && strategy !== 'ordinal' ? '' : `--id-strategy must be hash or balanced (ordinal needs StatefulSet host names), got ${strategy}`,
  minutes > 0 ? '' : `--minutes must be > 0, got ${values.minutes}`,
  everyS >= 5 ? '' : `--every must be at least 5 s, got ${values.every}`,
  minutes * 60 >= everyS ? '' : `--minutes must leave time for one look every ${everyS} s, got ${values.minutes}`,
  arrival === 'at-once' || arrival === 'one-by-one' ? '' : `--arrival must be at-once or one-by-one, got ${values.arrival}`,
  quietMinutes > 0 ? '' : `--quiet-minutes must be > 0, got ${values['quiet-minutes']}`,
  basePort === undefined || (Number.isInteger(basePort) && basePort >= 1024 && basePort + CLUSTER_PORT_OFFSETS.peer + nodes <= ephemeral)
    ? ''
    : `--base-port must leave room for ${nodes} nodes' three ports below the kernel's ephemeral ports (${ephemeral}…, where outgoing connections would take ports later nodes listen on), got ${values['base-port']}`,
].filter(Boolean);
if (problems.length) {
  process.stderr.write(`bench:balance: ${problems.join('; ')}\n`);
  process.exit(2);
}

/** One member's view of the ring; the next node is asked when one does not answer (it may be moving). */
async function view(cluster: LocalCluster): Promise<ClusterView | undefined> {
  for (const node of cluster.nodes) {
    try {
      const res = await fetch(`${node.http}/cluster`, { signal: AbortSignal.timeout(VIEW_TIMEOUT_MS) });
      if (res.ok) return (await res.json()) as ClusterView;
    } catch {
      // not listening yet, moving, or too slow: try the next
    }
  }
  return undefined;
}

const cluster = new LocalCluster({
  nodes,
  protocol: 'koorde',
  degree: 8,
  basePort: basePort ?? (await freeClusterBase(nodes)),
  env: { LOGGER_LEVEL: 'warn', DHT_ID_BITS: '66', NODE_ID_STRATEGY: strategy },
});
const stopAll = () => void cluster.stop().then(() => process.exit(130));
process.once('SIGINT', stopAll);
process.once('SIGTERM', stopAll);

const samples: Sample[] = [];
let settledAt: number | null = null;
let lastChangeAt = 0;
let previous = new Map<string, string>();
const started = Date.now();
process.stdout.write(`bench:balance: ${nodes} nodes ${arrival}, ${strategy} ids, logs in ${cluster.logDir}\n`);
try {
  if (arrival === 'at-once') cluster.start();
  else {
    await cluster.startOneByOne(JOIN_TIMEOUT_MS);
    process.stdout.write(`${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s  all ${nodes} joined\n`);
  }
  const every = everyS * 1000;
  for (let due = every * Math.ceil((Date.now() - started + 1) / every); due <= minutes * 60_000; due += every) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + due - Date.now())));
    const v = await view(cluster);
    const t = (Date.now() - started) / 1000;
    const crashed = cluster.nodes.filter((n) => n.crashed !== undefined).length;
    if (!v) {
      process.stdout.write(`${t.toFixed(0).padStart(5)} s  no node answered /cluster${crashed ? ` (${crashed} exited)` : ''}\n`);
      continue;
    }
    const ids = new Map(v.members.map((m) => [m.addr, m.id]));
    const moved = [...ids].filter(([addr, id]) => previous.has(addr) && previous.get(addr) !== id).length;
    const ready = v.members.filter((m) => m.status === 'READY').length;
    const whole = v.size === nodes && ready === nodes;
    if (moved > 0 || !whole || previous.size !== ids.size) lastChangeAt = t;
    previous = ids;
    const sample: Sample = { t_s: Math.round(t), size: v.size, ready, ...v.balance, moved, load_average_1m: Number(loadavg()[0]!.toFixed(1)) };
    samples.push(sample);
    process.stdout.write(
      `${t.toFixed(0).padStart(5)} s  ring ${v.size} (${ready} ready)  largest/mean ${sample.max_share_over_mean.toFixed(2)}  smallest/mean ${sample.min_share_over_mean.toFixed(2)}  moved ${moved}  load ${sample.load_average_1m}${crashed ? `  ${crashed} exited` : ''}\n`,
    );
    if (whole && t - lastChangeAt >= quietMinutes * 60) {
      settledAt = Math.round(lastChangeAt);
      break;
    }
  }
} finally {
  await cluster.stop();
}

const run: BalanceRun = {
  nodes,
  id_strategy: strategy,
  arrival,
  command: `npm run bench:balance -- --nodes ${nodes} --id-strategy ${strategy} --arrival ${arrival} --minutes ${minutes} --every ${everyS} --quiet-minutes ${quietMinutes}`,
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, node: process.version },
  settled_at_s: settledAt,
  samples,
};
mkdirSync(out, { recursive: true });
writeFileSync(join(out, `balance-${strategy}-n${nodes}${arrival === 'one-by-one' ? '-one-by-one' : ''}.json`), JSON.stringify(run, null, 2) + '\n');
const runs = readdirSync(out)
  .filter((f) => /^balance-\w+-n\d+(-one-by-one)?\.json$/.test(f))
  .map((f) => JSON.parse(readFileSync(join(out, f), 'utf8')) as BalanceRun)
  .sort((a, b) => a.nodes - b.nodes || a.id_strategy.localeCompare(b.id_strategy) || (a.arrival ?? '').localeCompare(b.arrival ?? ''));
writeFileSync(
  join(out, 'balance.svg'),
  lineChart({
    title: 'Largest share of the key space over the mean, real nodes',
    xLabel: 'seconds since start',
    yLabel: 'largest share / mean',
    series: runs.map((r) => ({ name: `${r.id_strategy} ids, N=${r.nodes}${r.arrival === 'one-by-one' ? ', one by one' : ''}`, dashed: r.id_strategy === 'hash', points: r.samples.map((s) => [s.t_s, s.max_share_over_mean] as const) })),
  }),
);
process.stdout.write(`bench:balance: ${settledAt === null ? 'not settled' : `settled at ${settledAt} s`}; results in ${out}\n`);
