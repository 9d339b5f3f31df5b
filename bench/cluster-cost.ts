/**
 * npm run bench:cluster-cost — where the CPU of a request through the local cluster goes, to read
 * the throughput benchmark by: CPU µs per request of the nodes (all of them together), the
 * balancer, the origin and the load generator, read from /proc around each run, for an 8-node
 * Koorde ring behind the balancer (warm Zipf(1.2) hits, as the throughput benchmark) and for the
 * load generator against bare node:http (its own cost, with nothing else to wait for). Also the
 * ring's idle upkeep, as a share of one core.
 *
 *   npm run bench:cluster-cost
 *   npm run bench:cluster-cost -- --nodes 16 --seconds 10 --out /tmp/c
 *
 * Writes bench/results/cluster-cost.json.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { WorkloadSummary } from '../src/workload/summary.js';
import { withCluster } from './lib/bench-cluster.js';
import { spawnBenchChild, type BenchChild } from './lib/child.js';
import { BENCH_ID_BITS } from './lib/configs.js';
import { onMachine } from './lib/machine.js';
import { warmupArgs } from './lib/warmup.js';
import { BARE_LISTENING, BARE_SERVER } from './lib/bare-server.js';
import { cpuSeconds, totalCpuSeconds } from './lib/process-cpu.js';

const { values } = parseArgs({ options: { nodes: { type: 'string' }, seconds: { type: 'string' }, out: { type: 'string' } } });
const nodes = Number(values.nodes ?? 8);
const seconds = Number(values.seconds ?? 8);
const out = values.out ?? 'bench/results';
if (!Number.isInteger(nodes) || nodes < 2 || !(seconds > 0)) {
  process.stderr.write('bench:cluster-cost: --nodes takes an integer ≥ 2 and --seconds a number > 0\n');
  process.exit(2);
}
/** How often the generator's CPU time is read: it exits at the end, taking its /proc entry along. */
const GENERATOR_SAMPLE_MS = 100;
const log = (line: string) => process.stdout.write(line + '\n');

interface Row {
  readonly setup: string;
  readonly load: string;
  readonly ok_rps: number;
  readonly p99_ms: number;
  readonly late_starts: number;
  readonly hit_rate: number;
  /** CPU µs per request, by role. */
  readonly cpu_us_per_request: Record<string, number>;
}

/** cache-workload's arguments for warm Zipf(1.2) hits on 2 000 objects of `urlTemplate` through `target`. */
const workloadArgs = (target: string, urlTemplate: string) => ['dist/cli/cache-workload.js', '--target', target, '--urls', '2000', '--zipf', '1.2', '--seed', '5', '--url-template', urlTemplate, '--timeout', '30s', '--output', '-'];

/** One cache-workload run; the CPU each group of `roles` spent on it, per request. */
async function measure(setup: string, load: string[], target: string, urlTemplate: string, roles: Record<string, readonly number[]>): Promise<Row> {
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
  const perRequest = (cpu: number) => Number(((cpu * 1e6) / requests).toFixed(1));
  const cpu: Record<string, number> = {};
  for (const [role, pids] of Object.entries(roles)) cpu[role] = perRequest(totalCpuSeconds(pids) - before[role]!);
  cpu.generator = perRequest(generatorCpu - generatorBefore);
  const row = { setup, load: load.join(' '), ok_rps: Math.round(summary.ok_rps), p99_ms: summary.latency_ms.p99, late_starts: summary.late_starts, hit_rate: summary.hit_rate, cpu_us_per_request: cpu };
  log(`cluster-cost  ${setup}  ${row.load}: ${row.ok_rps} req/s, p99 ${row.p99_ms.toFixed(1)} ms, ${row.late_starts} late starts, hit rate ${(100 * row.hit_rate).toFixed(1)} %; CPU µs/request ${JSON.stringify(cpu)}`);
  return row;
}

/** A measured run: `seconds` long, after a warm-up at the same load. */
const load = (concurrency: number, rate?: number) => ['--duration', `${seconds}s`, '--concurrency', String(concurrency), ...(rate === undefined ? [] : ['--rate', String(rate)]), ...warmupArgs(concurrency, rate)];
const { machine, result } = await onMachine(async () => {
  const rows: Row[] = [];
  const bare = spawnBenchChild(process.execPath, ['-e', BARE_SERVER]);
  const port = (await bare.waitFor(BARE_LISTENING))[1]!;
  rows.push(await measure('generator vs bare node:http', load(50), `http://127.0.0.1:${port}`, 'http://origin.test/obj/{i}', { server: [bare.child.pid!] }));
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
    for (const [concurrency, rate] of [[50], [2000, 1000], [2000, 3000]]) {
      rows.push(await measure(setup, load(concurrency!, rate), balancer!, `${origin}/obj/{i}`, roles));
    }
  });
  return { nodes, seconds, idle_upkeep_cores: Number(idle.toFixed(3)), rows };
});
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'cluster-cost.json'), JSON.stringify({ machine, ...result }, null, 2) + '\n');
log(`cluster-cost: results in ${join(out, 'cluster-cost.json')}`);
