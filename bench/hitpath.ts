/**
 * npm run bench:hitpath — what a cached hit costs, against bare node:http in the same run:
 *
 *   bare      node:http answering 1 KiB from memory
 *   local     one node answering its own hits (/cache?url=, 200 URLs, 1 KiB objects, warmed)
 *   forwarded two nodes; every hit is sent to the node that does not own it
 *
 * Servers run on CPU 1, the load generator (wrk, or bench/lib/http-load.ts without it) on CPU 0,
 * 64 connections, cells interleaved round by round so drift hits each alike.
 *
 *   npm run bench:hitpath
 *   npm run bench:hitpath -- --runs 5 --seconds 10 --out /tmp/h
 *   npm run bench:hitpath -- --profile /tmp/prof   # nodes under --cpu-prof; see docs/benchmarks/hitpath-profile.md
 *   npm run bench:hitpath -- --node-flags='--max-semi-space-size=1' --node-flags='…'
 *
 * Each `--node-flags` adds a cell: the local one again, its node run with those V8 flags, so that
 * what heap flags cost a hit is a ratio measured in the same run (docs/benchmarks/memory.md).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freeClusterBase } from '../src/cluster/free-ports.js';
import { LocalCluster } from '../src/cluster/local-cluster.js';
import { CAN_PIN, pinProcess, spawnBenchChild, spread, type BenchChild } from './lib/child.js';
import { cpuSeconds } from './lib/process-cpu.js';
import { BARE_LISTENING, BARE_SERVER } from './lib/bare-server.js';
import { barChart } from './lib/svg-chart.js';

const SERVER_CPU = 1;
const LOAD_CPU = 0;
const CONNECTIONS = 64;
const URLS = 200;
const OBJECT_BYTES = 1024;

const { values } = parseArgs({ options: { runs: { type: 'string' }, seconds: { type: 'string' }, out: { type: 'string' }, profile: { type: 'string' }, 'node-flags': { type: 'string', multiple: true } } });
const runs = Number(values.runs ?? 3);
const seconds = Number(values.seconds ?? 5);
const out = values.out ?? 'bench/results';
const profileDir = values.profile;
if (!Number.isInteger(runs) || runs < 1 || !(seconds > 0)) {
  process.stderr.write('bench:hitpath: --runs takes an integer ≥ 1 and --seconds a number > 0\n');
  process.exit(2);
}
const HAS_WRK = spawnSync('wrk', ['--version']).error === undefined;
/** Other work on the shared machine, at the start and (in the results) at the end of the run. */
const loadAtStart = Number(loadavg()[0]!.toFixed(1));
const log = (line: string) => process.stdout.write(line + '\n');
const work = mkdtempSync(join(tmpdir(), 'hitpath-'));

/** What one load-generator run saw. */
interface Run {
  readonly rps: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  /** Answers that were not 2xx/3xx plus socket errors (wrk gives up on an answer after 10 s). */
  readonly failed: number;
  /** X-Cache counts the entry node reported over the run (empty for bare node:http). */
  readonly x_cache: Record<string, number>;
  /**
   * CPU time the cell's server processes spent per request served (user + system, from
   * /proc): far less than req/s does it depend on how much of the CPU other work left them.
   */
  readonly cpu_us_per_request?: number;
  /** The same per server process, in the cell's `pids` order (entry node first). */
  readonly cpu_us_per_request_by_process?: readonly number[];
}

interface Cell {
  readonly name: string;
  readonly label: string;
  readonly base: string;
  readonly pathsFile: string;
  /** The node whose X-Cache counts tell what was served. */
  readonly entry?: string;
  /** The server processes whose CPU time the cell costs. */
  readonly pids: readonly number[];
}


const children: BenchChild[] = [];
const clusters: LocalCluster[] = [];
try {
  log(`hitpath: load by ${HAS_WRK ? 'wrk' : 'bench/lib/http-load.ts'}${CAN_PIN ? `, servers on CPU ${SERVER_CPU}, load on CPU ${LOAD_CPU}` : ', unpinned (no taskset or one CPU)'}`);
  const origin = spawnBenchChild(process.execPath, ['dist/cli/koorde-origin.js', '--port', '0', '--size', String(OBJECT_BYTES)], { cpu: LOAD_CPU });
  children.push(origin);
  const originUrl = (await origin.waitFor(/listening on (\S+)/))[1]!;
  const objectUrl = (i: number) => `${originUrl}/obj/${i}`;
  const cachePath = (i: number) => `/cache?url=${encodeURIComponent(objectUrl(i))}`;

  const cells: Cell[] = [];
  if (!profileDir) {
    const bare = spawnBenchChild(process.execPath, ['-e', BARE_SERVER], { cpu: SERVER_CPU });
    children.push(bare);
    const port = (await bare.waitFor(BARE_LISTENING))[1]!;
    cells.push({ name: 'bare', label: 'bare node:http answering 1 KiB from memory', base: `http://127.0.0.1:${port}`, pathsFile: pathsFile('bare', ['/']), pids: [bare.child.pid!] });
  }

  const startCluster = async (nodes: number, flags: readonly string[] = []) => {
    const cluster = new LocalCluster({
      nodes,
      protocol: 'koorde',
      degree: 2,
      basePort: await freeClusterBase(nodes),
      env: {
        LOGGER_LEVEL: 'warn',
        CACHE_ORIGIN_ALLOWLIST: '127.0.0.1',
      },
      nodeArgs: [...flags, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, `${nodes}-node`)}`] : [])],
    });
    clusters.push(cluster);
    cluster.start();
    for (const node of cluster.nodes) pinProcess(node.child.pid!, SERVER_CPU);
    await cluster.waitReady(60_000);
    return cluster;
  };

  const localPaths = Array.from({ length: URLS }, (_, i) => cachePath(i + 1));
  const localCell = async (name: string, label: string, flags: readonly string[] = []): Promise<Cell> => {
    const single = await startCluster(1, flags);
    const node = single.nodes[0]!.http;
    for (let i = 1; i <= URLS; i++) await get(node + cachePath(i));
    await expectXCache(node + localPaths[0]!, 'HIT-LOCAL');
    return { name, label, base: node, pathsFile: pathsFile(name, localPaths), entry: node, pids: [single.nodes[0]!.child.pid!] };
  };
  cells.push(await localCell('local', `one node, its own hits (/cache?url=, ${URLS} URLs)`));
  for (const [i, flags] of (values['node-flags'] ?? []).entries()) cells.push(await localCell(`local-flags-${i + 1}`, `one node, its own hits, node run with \`${flags}\``, flags.split(' ').filter(Boolean)));

  const pair = await startCluster(2);
  const [entry, owner] = [pair.nodes[0]!, pair.nodes[1]!];
  const remote: string[] = [];
  for (let i = 1; remote.length < URLS; i++) {
    if (i > 20 * URLS) throw new Error('the second node owns too few URLs');
    const headers = await get(entry.http + cachePath(i));
    if (headers.get('x-responsible-node') === owner.grpc) remote.push(cachePath(i));
  }
  await expectXCache(entry.http + remote[0]!, 'HIT-DHT');
  cells.push({ name: 'forwarded', label: 'two nodes, every hit owned by the other node', base: entry.http, pathsFile: pathsFile('forwarded', remote), entry: entry.http, pids: [entry.child.pid!, owner.child.pid!] });

  const results = new Map<string, Run[]>(cells.map((c) => [c.name, []]));
  /** Measured periods per cell on the monotonic clock CPU profiles use (µs), so a profile can leave out start-up and warm-up. */
  const windows = new Map<string, [number, number][]>(cells.map((c) => [c.name, []]));
  const micros = () => Number(process.hrtime.bigint() / 1000n);
  for (const cell of cells) await load(cell, 1); // warm-up: JIT, connections, caches
  for (let round = 1; round <= runs; round++) {
    for (const cell of cells) {
      const from = micros();
      const run = await load(cell, seconds);
      windows.get(cell.name)!.push([from, micros()]);
      results.get(cell.name)!.push(run);
      log(`hitpath  round ${round}  ${cell.name.padEnd(10)} ${run.rps.toFixed(0).padStart(7)} req/s  p50 ${run.p50_ms.toFixed(2)} ms  p99 ${run.p99_ms.toFixed(2)} ms${run.cpu_us_per_request === undefined ? '' : `  ${run.cpu_us_per_request.toFixed(1)} µs CPU/req`}${(run.cpu_us_per_request_by_process?.length ?? 0) > 1 ? ` (entry ${run.cpu_us_per_request_by_process!.map((us) => us.toFixed(1)).join(' + owner ')})` : ''}${run.failed ? `  ${run.failed} FAILED` : ''}  ${JSON.stringify(run.x_cache)}`);
    }
  }

  if (profileDir) {
    mkdirSync(profileDir, { recursive: true });
    writeFileSync(join(profileDir, 'windows.json'), JSON.stringify(Object.fromEntries(windows)) + '\n');
    log(`hitpath: profiles are written as the nodes exit, under ${profileDir}; summarise the measured period with`);
    for (const [name, periods] of windows) {
      const dir = join(profileDir, name === 'forwarded' ? '2-node' : '1-node');
      log(`  node --import tsx bench/profile-summary.ts --from ${periods[0]![0]} --to ${periods[periods.length - 1]![1]} ${dir}/<file>.cpuprofile`);
    }
  } else {
    const bareMedian = spread(results.get('bare')!.map((r) => r.rps)).median;
    const cpuMedian = (cellRuns: readonly Run[]) => {
      const known = cellRuns.flatMap((r) => (r.cpu_us_per_request === undefined ? [] : [r.cpu_us_per_request]));
      return known.length ? spread(known).median : undefined;
    };
    const bareCpu = cpuMedian(results.get('bare')!);
    const rows = cells.map((cell) => {
      const cellRuns = results.get(cell.name)!;
      const rps = spread(cellRuns.map((r) => r.rps));
      return {
        path: cell.name,
        label: cell.label,
        rps,
        spread_pct: (100 * (rps.max - rps.min)) / rps.median,
        vs_bare: rps.median / bareMedian,
        cpu_us_per_request: cpuMedian(cellRuns),
        /** Bare node:http's CPU per request over this cell's: the req/s ratio on a CPU of its own. */
        cpu_vs_bare: bareCpu === undefined ? undefined : bareCpu / cpuMedian(cellRuns)!,
        p50_ms: spread(cellRuns.map((r) => r.p50_ms)).median,
        p99_ms: spread(cellRuns.map((r) => r.p99_ms)).median,
        failed: cellRuns.reduce((sum, r) => sum + r.failed, 0),
        runs: cellRuns,
      };
    });
    const machine = { cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, node: process.version, load: HAS_WRK ? 'wrk -t1' : 'bench/lib/http-load.ts', pinned: CAN_PIN, load_average_1m_start: loadAtStart, load_average_1m: Number(loadavg()[0]!.toFixed(1)) };
    const options = { runs, seconds, connections: CONNECTIONS, urls: URLS, object_bytes: OBJECT_BYTES, server_cpu: SERVER_CPU, load_cpu: LOAD_CPU };
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'hitpath.json'), JSON.stringify({ machine, options, rows }, null, 2) + '\n');
    writeFileSync(
      join(out, 'hitpath.svg'),
      barChart({
        title: `Cached hits vs bare node:http (${CONNECTIONS} connections, median of ${runs})`,
        yLabel: 'requests per second',
        bars: rows.map((r) => ({ label: { bare: 'bare node:http', local: 'one node,\nits own hits', forwarded: 'two nodes,\nforwarded hits' }[r.path] ?? `one node,\n${r.path}`, value: r.rps.median, low: r.rps.min, high: r.rps.max, note: `${Math.round(r.rps.median)} (${r.vs_bare.toFixed(2)})` })),
      }),
    );
    const table = [
      '| path | req/s (median) | spread (min–max) | vs bare node:http | CPU µs per request | vs bare by CPU | p50 ms | p99 ms | failed |',
      '|---|---|---|---|---|---|---|---|---|',
      ...rows.map((r) => `| ${r.label} | ${Math.round(r.rps.median)} | ${Math.round(r.rps.min)}–${Math.round(r.rps.max)} (${r.spread_pct.toFixed(1)} %) | ${r.vs_bare.toFixed(2)} | ${r.cpu_us_per_request?.toFixed(1) ?? '–'} | ${r.cpu_vs_bare?.toFixed(2) ?? '–'} | ${r.p50_ms.toFixed(2)} | ${r.p99_ms.toFixed(2)} | ${r.failed} |`),
    ].join('\n');
    writeFileSync(join(out, 'hitpath.md'), table + '\n');
    log('\n' + table + '\n');
    log(`hitpath: ${machine.cpus} × ${machine.cpu}, Node ${machine.node}, load average ${machine.load_average_1m_start} at the start, ${machine.load_average_1m} at the end; results in ${out}/hitpath.{json,svg,md}`);
  }
} finally {
  await Promise.all(clusters.map((c) => c.stop()));
  await Promise.all(children.map((c) => c.stop()));
}

function pathsFile(name: string, paths: readonly string[]): string {
  const file = join(work, `${name}.paths`);
  writeFileSync(file, paths.join('\n') + '\n');
  return file;
}

async function get(url: string): Promise<Headers> {
  const res = await fetch(url);
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  return res.headers;
}

async function expectXCache(url: string, expected: string): Promise<void> {
  const got = (await get(url)).get('x-cache');
  if (got !== expected) throw new Error(`${url}: X-Cache ${got}, expected ${expected}`);
}

async function xCacheCounts(node: string): Promise<Record<string, number>> {
  const metrics = (await (await fetch(`${node}/metrics`)).json()) as { requests: { by_x_cache: Record<string, number> } };
  return metrics.requests.by_x_cache;
}

async function load(cell: Cell, forSeconds: number): Promise<Run> {
  const before = cell.entry ? await xCacheCounts(cell.entry) : {};
  const cpuBefore = cpuSecondsEach(cell.pids);
  const generator = HAS_WRK
    ? spawnBenchChild('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${forSeconds}s`, '--timeout', '10s', '--latency', '-s', 'bench/lib/wrk-paths.lua', cell.base, '--', cell.pathsFile], { cpu: LOAD_CPU })
    : spawnBenchChild(process.execPath, ['--import', 'tsx', 'bench/lib/http-load.ts', cell.base, cell.pathsFile, String(CONNECTIONS), String(forSeconds)], { cpu: LOAD_CPU });
  const text = await generator.done;
  const cpuAfter = cpuSecondsEach(cell.pids);
  const after = cell.entry ? await xCacheCounts(cell.entry) : {};
  const x_cache = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => (v as number) > 0));
  const run = HAS_WRK ? parseWrk(text) : (JSON.parse(text) as Omit<Run, 'x_cache'>);
  const served = run.rps * forSeconds;
  if (cpuBefore === undefined || cpuAfter === undefined || served === 0) return { ...run, x_cache };
  const byProcess = cpuAfter.map((after, i) => ((after - cpuBefore[i]!) * 1e6) / served);
  return { ...run, x_cache, cpu_us_per_request: byProcess.reduce((a, b) => a + b, 0), cpu_us_per_request_by_process: byProcess };
}

/** User + system CPU seconds of each of `pids` so far; undefined without /proc. */
function cpuSecondsEach(pids: readonly number[]): number[] | undefined {
  try {
    return pids.map(cpuSeconds);
  } catch {
    return undefined;
  }
}

function parseWrk(text: string): Omit<Run, 'x_cache'> {
  const number = (pattern: RegExp) => Number(text.match(pattern)?.[1] ?? NaN);
  const ms = (quantile: string) => {
    const m = text.match(new RegExp(`^\\s+${quantile}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm'));
    if (!m) return NaN;
    return Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2] as 'us' | 'ms' | 's'];
  };
  const socket = text.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  const rps = number(/Requests\/sec:\s+([\d.]+)/);
  if (!Number.isFinite(rps)) throw new Error(`could not read wrk's output: ${text}`);
  return { rps, p50_ms: ms('50'), p99_ms: ms('99'), failed: (number(/Non-2xx or 3xx responses: (\d+)/) || 0) + socketErrors };
}
