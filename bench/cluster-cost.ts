/**
 * npm run bench:cluster-cost — where the CPU of a request through the local cluster goes, to read
 * the throughput benchmark by: CPU µs per request of the nodes (all of them together), the
 * balancer (this process, which hands each connection to a node and otherwise waits), the origin
 * and the load generator, read from /proc around each run, for an 8-node
 * Koorde ring behind the balancer (warm Zipf(1.2) hits, as the throughput benchmark) and for the
 * load generator against bare node:http (its own cost, with nothing else to wait for). Also the
 * ring's idle upkeep, as a share of one core.
 *
 *   npm run bench:cluster-cost
 *   npm run bench:cluster-cost -- --nodes 16 --seconds 10 --repeats 5 --out /tmp/c
 *
 * Every cell is --repeats runs (default 3) of --seconds, each after a warm-up at its own load;
 * rows give the median and the spread.
 *
 * Writes bench/results/cluster-cost.json.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { WorkloadSummary } from '../src/workload/summary.js';
import { withCluster } from './lib/bench-cluster.js';
import { PACED_CAP, SERVED_SHARE } from './experiments/throughput.js';
import { spawnBenchChild, spread, type BenchChild } from './lib/child.js';
import { BENCH_ID_BITS } from './lib/configs.js';
import { onMachine } from './lib/machine.js';
import { measuredRunArgs } from './lib/measured-run.js';
import { BARE_LISTENING, BARE_SERVER } from './lib/bare-server.js';
import { cpuSeconds, totalCpuSeconds } from './lib/process-cpu.js';

const { values } = parseArgs({ options: { nodes: { type: 'string' }, seconds: { type: 'string' }, repeats: { type: 'string' }, out: { type: 'string' } } });
const nodes = Number(values.nodes ?? 8);
const seconds = Number(values.seconds ?? 8);
const repeats = Number(values.repeats ?? 3);
const out = values.out ?? 'bench/results';
if (!Number.isInteger(nodes) || nodes < 2 || !(seconds > 0) || !Number.isInteger(repeats) || repeats < 1) {
  process.stderr.write('bench:cluster-cost: --nodes takes an integer ≥ 2, --seconds a number > 0 and --repeats an integer ≥ 1\n');
  process.exit(2);
}
/** How often the generator's CPU time is read: it exits at the end, taking its /proc entry along. */
const GENERATOR_SAMPLE_MS = 100;
const log = (line: string) => process.stdout.write(line + '\n');

type Spread = ReturnType<typeof spread>;

interface Row {
  readonly setup: string;
  readonly load: string;
  readonly runs: number;
  /** Medians over the runs, with the lowest and highest. */
  readonly ok_rps: Spread;
  readonly p99_ms: Spread;
  /** Summed over the runs. */
  readonly late_starts: number;
  readonly cap_waits: number;
  /** Open loop: whether the median run served at least SERVED_SHARE of the offered rate. */
  readonly rate_served?: boolean;
  readonly hit_rate: number;
  /** CPU µs per request, by role: the median over the runs. */
  readonly cpu_us_per_request: Record<string, number>;
}

/** cache-workload's arguments for warm Zipf(1.2) hits on 2 000 objects of `urlTemplate` through `target`. */
const workloadArgs = (target: string, urlTemplate: string) => ['dist/cli/cache-workload.js', '--target', target, '--urls', '2000', '--zipf', '1.2', '--seed', '5', '--url-template', urlTemplate, '--timeout', '30s', '--output', '-'];

/** One cache-workload run; the CPU each group of `roles` spent on its measured requests, per request. */
async function run(load: string[], target: string, urlTemplate: string, roles: Record<string, readonly number[]>): Promise<{ summary: WorkloadSummary; cpu: Record<string, number> }> {
  const file = join(mkdtempSync(join(tmpdir(), 'cluster-cost-')), 'summary.json');
  const generator: BenchChild = spawnBenchChild(process.execPath, [...workloadArgs(target, urlTemplate), ...load, '--json', file]);
  // CPU counts from the end of the generator's warm-up, when its measured requests start.
  await generator.waitFor(/warm-up of \d+ requests done/);
  const before = Object.fromEntries(Object.entries(roles).map(([role, pids]) => [role, totalCpuSeconds(pids)]));
  const generatorBefore = cpuSeconds(generator.child.pid!);
  let generatorCpu = generatorBefore;
  const sampler = setInterval(() => {
    try {
      generatorCpu = cpuSeconds(generator.child.pid!);
    } catch {
      // exited: the last reading stands (at most GENERATOR_SAMPLE_MS of its CPU is missed)
    }
  }, GENERATOR_SAMPLE_MS);
  await generator.done;
  clearInterval(sampler);
  const summary = JSON.parse(readFileSync(file, 'utf8')) as WorkloadSummary;
  const requests = summary.ok + summary.errors;
  const perRequest = (cpu: number) => (cpu * 1e6) / requests;
  const cpu: Record<string, number> = {};
  for (const [role, pids] of Object.entries(roles)) cpu[role] = perRequest(totalCpuSeconds(pids) - before[role]!);
  cpu.generator = perRequest(generatorCpu - generatorBefore);
  return { summary, cpu };
}

/** `repeats` runs of `seconds` at `concurrency` clients (closed loop) or `rate` (open loop), each after a warm-up at the same load. */
async function measure(setup: string, concurrency: number, rate: number | undefined, target: string, urlTemplate: string, roles: Record<string, readonly number[]>): Promise<Row> {
  const load = measuredRunArgs(seconds * 1000, concurrency, rate);
  const runs: Awaited<ReturnType<typeof run>>[] = [];
  for (let i = 0; i < repeats; i++) runs.push(await run(load, target, urlTemplate, roles));
  const median = (pick: (r: (typeof runs)[number]) => number) => spread(runs.map(pick)).median;
  const sum = (pick: (s: WorkloadSummary) => number) => runs.reduce((total, r) => total + pick(r.summary), 0);
  const rounded = (values: number[], digits: number) => {
    const { median, min, max } = spread(values);
    return { median: Number(median.toFixed(digits)), min: Number(min.toFixed(digits)), max: Number(max.toFixed(digits)) };
  };
  const okRps = rounded(runs.map((r) => r.summary.ok_rps), 0);
  const cpu = Object.fromEntries(Object.keys(runs[0]!.cpu).map((role) => [role, Number(median((r) => r.cpu[role]!).toFixed(1))]));
  const row: Row = {
    setup,
    load: load.join(' '),
    runs: runs.length,
    ok_rps: okRps,
    p99_ms: rounded(runs.map((r) => r.summary.latency_ms.p99), 1),
    late_starts: sum((s) => s.late_starts),
    cap_waits: sum((s) => s.cap_waits),
    rate_served: rate === undefined ? undefined : okRps.median >= SERVED_SHARE * rate,
    hit_rate: Number(median((r) => r.summary.hit_rate).toFixed(4)),
    cpu_us_per_request: cpu,
  };
  const range = (s: Spread, digits: number) => `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
  const served = row.rate_served === false ? ', RATE NOT SERVED' : '';
  log(`cluster-cost  ${setup}  ${row.load}, ${runs.length} runs: ${range(row.ok_rps, 0)} req/s, p99 ${range(row.p99_ms, 1)} ms, ${row.late_starts} late starts, ${row.cap_waits} cap waits${served}, hit rate ${(100 * row.hit_rate).toFixed(1)} %; CPU µs/request ${JSON.stringify(cpu)}`);
  return row;
}

const { machine, result } = await onMachine(async () => {
  const rows: Row[] = [];
  const bare = spawnBenchChild(process.execPath, ['-e', BARE_SERVER]);
  const port = (await bare.waitFor(BARE_LISTENING))[1]!;
  rows.push(await measure('generator vs bare node:http', 50, undefined, `http://127.0.0.1:${port}`, 'http://origin.test/obj/{i}', { server: [bare.child.pid!] }));
  await bare.stop();

  let idle = 0;
  await withCluster({ nodes, protocol: 'koorde', degree: 8, balancer: true, env: { DHT_ID_BITS: String(BENCH_ID_BITS) } }, async ({ cluster, balancer, origin, pids }) => {
    const nodePids = cluster.nodes.map((n) => n.child.pid!);
    const upkeepFrom = totalCpuSeconds(nodePids);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    idle = (totalCpuSeconds(nodePids) - upkeepFrom) / seconds;
    log(`cluster-cost  ${nodes} nodes idle: upkeep takes ${(100 * idle).toFixed(1)} % of one core`);
    const roles = { nodes: nodePids, balancer: [pids.balancer!], origin: [pids.origin] };
    const setup = `${nodes} Koorde k=8 nodes behind the balancer`;
    await spawnBenchChild(process.execPath, [...workloadArgs(balancer!, `${origin}/obj/{i}`), '--requests', '8000', '--concurrency', '64']).done; // fills the caches
    for (const [concurrency, rate] of [[50], [PACED_CAP, 1000], [PACED_CAP, 3000], [PACED_CAP, 4000]]) {
      rows.push(await measure(setup, concurrency!, rate, balancer!, `${origin}/obj/{i}`, roles));
    }
  });
  return { nodes, seconds, repeats, idle_upkeep_cores: Number(idle.toFixed(3)), rows };
});
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'cluster-cost.json'), JSON.stringify({ machine, ...result }, null, 2) + '\n');
log(`cluster-cost: results in ${join(out, 'cluster-cost.json')}`);
