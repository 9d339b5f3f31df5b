/**
 * node --import tsx bench/hitpath-pairs.ts --base DIR [--nodes 1|2] [--pairs 10] [--seconds 3]
 *
 * One bench:hitpath cell (own hits with one node, forwarded hits with two) served by two builds
 * in interleaved pairs: DIR, a checkout of an earlier commit with `npm run build` done in it, and
 * this checkout (build it first). Each pair loads one build's cell, then the other's (alternating
 * which goes first), with wrk on CPU 0 and the nodes on CPU 1, and compares their CPU time per
 * request from /proc. On a shared machine the CPU cost of a cell drifts by a fifth between runs;
 * within a pair both builds meet the same drift, so the median of the pairs' ratios is the
 * before/after figure (docs/benchmarks/hitpath.md).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { freeClusterBase } from '../src/cluster/free-ports.js';
import { LocalCluster } from '../src/cluster/local-cluster.js';
import { pinProcess, spawnBenchChild, spread } from './lib/child.js';
import { totalCpuSeconds } from './lib/process-cpu.js';

const { values } = parseArgs({ options: { base: { type: 'string' }, nodes: { type: 'string' }, pairs: { type: 'string' }, seconds: { type: 'string' } } });
const nodes = Number(values.nodes ?? 1);
const pairs = Number(values.pairs ?? 10);
const seconds = Number(values.seconds ?? 3);
if (!values.base || (nodes !== 1 && nodes !== 2) || !Number.isInteger(pairs) || pairs < 1 || !(seconds > 0)) {
  process.stderr.write('bench/hitpath-pairs.ts: --base DIR (a built checkout) is required; --nodes takes 1 or 2, --pairs an integer ≥ 1, --seconds a number > 0\n');
  process.exit(2);
}
if (spawnSync('wrk', ['--version']).error !== undefined) {
  process.stderr.write('bench/hitpath-pairs.ts needs wrk (apt-get install wrk)\n');
  process.exit(2);
}
const work = mkdtempSync(join(tmpdir(), 'hitpath-pairs-'));
const log = (line: string) => process.stdout.write(line + '\n');

/** A build's LocalCluster: its module starts the nodes of its own checkout's dist/. */
async function clusterOf(checkout: string): Promise<typeof LocalCluster> {
  const module = (await import(pathToFileURL(join(resolve(checkout), 'src/cluster/local-cluster.ts')).href)) as { LocalCluster: typeof LocalCluster };
  return module.LocalCluster;
}

const origin = spawnBenchChild(process.execPath, ['dist/cli/koorde-origin.js', '--port', '0', '--size', '1024'], { cpu: 0 });
const clusters: LocalCluster[] = [];
try {
  const originUrl = (await origin.waitFor(/listening on (\S+)/))[1]!;
  const cachePath = (i: number) => `/cache?url=${encodeURIComponent(`${originUrl}/obj/${i}`)}`;
  const start = async (name: string, Cluster: typeof LocalCluster) => {
    const cluster = new Cluster({ nodes, protocol: 'koorde', degree: 2, basePort: await freeClusterBase(nodes), env: { LOGGER_LEVEL: 'warn', CACHE_ORIGIN_ALLOWLIST: '127.0.0.1' } });
    clusters.push(cluster);
    cluster.start();
    for (const node of cluster.nodes) pinProcess(node.child.pid!, 1);
    await cluster.waitReady(60_000);
    const entry = cluster.nodes[0]!;
    // Own hits: every URL. Forwarded hits: the URLs the other node owns.
    const paths: string[] = [];
    for (let i = 1; paths.length < 200; i++) {
      if (i > 4000) throw new Error(`${name}: the second node owns too few URLs`);
      const res = await fetch(entry.http + cachePath(i));
      await res.arrayBuffer();
      if (nodes === 1 || res.headers.get('x-responsible-node') !== entry.grpc) paths.push(cachePath(i));
    }
    const file = join(work, `${name}.paths`);
    writeFileSync(file, paths.join('\n') + '\n');
    return { name, base: entry.http, file, pids: cluster.nodes.map((n) => n.child.pid!) };
  };
  const cells = [await start('before', await clusterOf(values.base)), await start('after', LocalCluster)];
  /** CPU µs per request of one load of `cell` for `forSeconds`. */
  const load = async (cell: (typeof cells)[number], forSeconds: number) => {
    const cpuBefore = totalCpuSeconds(cell.pids);
    const wrk = spawnBenchChild('wrk', ['-t1', '-c64', `-d${forSeconds}s`, '-s', 'bench/lib/wrk-paths.lua', cell.base, '--', cell.file], { cpu: 0 });
    const rps = Number((await wrk.done).match(/Requests\/sec:\s+([\d.]+)/)?.[1]);
    return ((totalCpuSeconds(cell.pids) - cpuBefore) * 1e6) / (rps * forSeconds);
  };
  for (const cell of cells) await load(cell, 1); // warm-up: JIT, connections
  const ratios: number[] = [];
  for (let pair = 0; pair < pairs; pair++) {
    const us: Record<string, number> = {};
    for (const cell of pair % 2 ? cells : [...cells].reverse()) us[cell.name] = await load(cell, seconds);
    ratios.push(us.after! / us.before!);
    log(`pair ${pair + 1}: before ${us.before!.toFixed(1)} µs, after ${us.after!.toFixed(1)} µs of CPU per request (${ratios.at(-1)!.toFixed(3)})`);
  }
  const { median, min, max } = spread(ratios);
  log(`${nodes === 1 ? 'own hits' : 'forwarded hits'}: after / before CPU per request, median of ${pairs} pairs ${median.toFixed(3)} (${min.toFixed(3)}–${max.toFixed(3)}), ${ratios.filter((r) => r < 1).length} pairs lower; load average ${loadavg()[0]!.toFixed(1)}`);
} finally {
  await Promise.all(clusters.map((c) => c.stop()));
  await origin.stop();
}
