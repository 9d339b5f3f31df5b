/**
 * npm run bench:memory — what a full cache costs the process. For each object size and capacity,
 * a fresh built node (its own process, a ring of one) in front of a local origin first serves
 * uncacheable objects of that size (warm: what serving traffic costs with nothing stored), then is
 * filled with distinct objects until it reports full utilisation and evictions. Reports RSS idle
 * → warm → full, heap, the cache's own accounting, the per-entry overhead beyond URL + headers +
 * body, and RSS growth over capacity from warm (the cache's) and from idle (the process's), and
 * per object size the marginal factor between the smallest and largest capacity. Writes
 * bench/results/memory.{json,svg} and docs/benchmarks/memory.md; `--sizes` and `--capacities`
 * (comma-separated) run some cells only and write bench/results/memory.json alone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { request } from 'undici';
import { freeClusterBase } from '../src/cluster/free-ports.js';
import { nodeHeapOptions, podLimitMib } from '../src/server/container-memory.js';
import { SyntheticOrigin } from '../src/synthetic/origin-server.js';
import { cpuSeconds } from './lib/process-cpu.js';
import { lineChart } from './lib/svg-chart.js';

const MIB = 1024 * 1024;
/**
 * `--sizes 1024,16384` and `--capacities 64` run only those cells: a quicker look, written to
 * bench/results/memory.json only (docs/benchmarks/memory.md keeps the last run of every cell).
 */
function listOption(name: string, all: readonly number[]): number[] {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return [...all];
  const values = (process.argv[at + 1] ?? '').split(',').map(Number);
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v <= 0)) throw new Error(`--${name} takes positive integers separated by commas`);
  return values;
}
const SIZES = listOption('sizes', [1024, 16 * 1024, MIB]);
const CAPACITIES_MB = listOption('capacities', [64, 256]);
const PARTIAL = process.argv.includes('--sizes') || process.argv.includes('--capacities');
const CONCURRENCY = 16;
/** Requests between two looks at /metrics while filling. */
const PROBE_EVERY = 500;
/**
 * Uncacheable requests served before the fill: enough to bring every structure that serving
 * traffic grows (V8's young generation, compiled code, the hot-key and parsed-request tables,
 * sockets, malloc's arenas) to what it is during the fill, about as many as the fill sends, and
 * at most 20 000 (the tables stop growing at 10 000 URLs).
 */
function warmRequests(objectBytes: number, capacityMb: number): number {
  return Math.min(20_000, Math.max(1_000, Math.ceil((capacityMb * MIB) / objectBytes)));
}
/** Figures of a run before a change, shown beside the current ones when present. */
const BASELINE = 'docs/benchmarks/memory-baseline.json';

interface Metrics {
  cache: { entry_count: number; size_bytes: number; capacity_bytes: number; utilization: number; evictions: number; pressure_evictions?: number };
  process: { heap_used_bytes: number; heap_total_bytes: number; array_buffers_bytes: number };
}

interface Cell {
  object_bytes: number;
  capacity_mb: number;
  /** The node's heap flags. */
  node_options: string;
  /** Uncacheable requests served before the fill (warmRequests). */
  warm_requests: number;
  requests: number;
  entry_count: number;
  size_bytes: number;
  evictions: number;
  rss_idle_bytes: number;
  /** After the warm requests, nothing stored: the base against which the cache's growth is read. */
  rss_warm_bytes: number;
  rss_full_bytes: number;
  rss_peak_bytes: number;
  heap_used_idle_bytes: number;
  heap_used_full_bytes: number;
  /** V8's heap as committed (heapTotal), idle and full: live objects, garbage and room to grow. */
  heap_total_idle_bytes: number;
  heap_total_warm_bytes: number;
  heap_total_full_bytes: number;
  array_buffers_idle_bytes: number;
  array_buffers_warm_bytes: number;
  array_buffers_full_bytes: number;
  /** The node's CPU time (user + system) per request of the fill, a miss each: what the heap flags cost the miss path. */
  fill_cpu_us_per_request: number;
  /** URL + header name/value + body bytes of one object, as the origin sends them. */
  payload_bytes_per_entry: number;
  /** (RSS full − RSS warm − entries × payload) / entries. */
  overhead_bytes_per_entry: number;
  /** (RSS full − RSS warm) / capacity: what the cache adds to a node serving the same traffic. */
  cache_growth_over_capacity: number;
  /** (RSS full − RSS idle) / capacity: the cache and the cost of serving traffic at all. */
  rss_growth_over_capacity: number;
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

function procStatusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN) * 1024;
}

/** GET `url` through the node's cache, whole. */
async function get(http: string, url: string): Promise<void> {
  const res = await request(`${http}/cache?url=${encodeURIComponent(url)}`);
  await res.body.arrayBuffer();
  if (res.statusCode !== 200) throw new Error(`GET ${url} via the cache: ${res.statusCode}`);
}

async function metrics(http: string): Promise<Metrics> {
  const res = await request(`${http}/metrics`);
  return (await res.body.json()) as Metrics;
}

async function waitUntil(what: string, probe: () => Promise<boolean>, limitMs = 60_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    try {
      if (await probe()) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Lets the node finish what the fill left behind (GC, freed sockets) before RSS is read. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 3000));

/** Bytes a stored object carries besides overhead: its URL, its headers' names and values, its body. */
async function payloadBytes(url: string): Promise<number> {
  const res = await request(url);
  await res.body.arrayBuffer();
  let headerBytes = 0;
  for (const [name, value] of Object.entries(res.headers)) if (!['connection', 'keep-alive', 'transfer-encoding'].includes(name)) headerBytes += name.length + String(value).length;
  return url.length + headerBytes + Number(res.headers['content-length']);
}

async function measureCell(origin: string, objectBytes: number, capacityMb: number): Promise<Cell> {
  const base = await freeClusterBase(1);
  const http = `http://127.0.0.1:${base + 1000}`;
  const nodeOptions = nodeHeapOptions(podLimitMib(capacityMb));
  const child = spawn(process.execPath, ['dist/cli/koorde-node.js'], {
    env: {
      ...process.env,
      NODE_PORT: String(base),
      CACHE_HTTP_PORT: String(base + 1000),
      NODE_BIND: '127.0.0.1',
      BOOTSTRAP_PEERS: '',
      CACHE_CAPACITY_MB: String(capacityMb),
      CACHE_MAX_OBJECT_MB: '16',
      CACHE_ORIGIN_ALLOWLIST: '127.0.0.1',
      LOGGER_LEVEL: 'warn',
      // The heap flags a pod sized for this capacity runs with (the StatefulSet's NODE_OPTIONS).
      NODE_OPTIONS: nodeOptions,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.add(child);
  try {
    await waitUntil('the node to be ready', async () => (await request(`${http}/health`)).statusCode === 200);
    await settle();
    const idle = await metrics(http);
    const rssIdle = procStatusBytes(child.pid!, 'VmRSS');
    const warmCount = warmRequests(objectBytes, capacityMb);
    const uncacheableUrl = (i: number) => `${origin}/obj/warm-${i}?size=${objectBytes}&cc=no-store`;
    let warmed = 0;
    const warmer = async () => {
      while (warmed < warmCount) await get(http, uncacheableUrl(warmed++));
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, warmer));
    await settle();
    const warm = await metrics(http);
    const rssWarm = procStatusBytes(child.pid!, 'VmRSS');
    if (warm.cache.entry_count !== 0) throw new Error(`the node stored ${warm.cache.entry_count} no-store objects`);
    const objectUrl = (i: number) => `${origin}/obj/${i}?size=${objectBytes}`;
    let next = 0;
    let full = false;
    const cpuBefore = cpuSeconds(child.pid!);
    const worker = async () => {
      while (!full) await get(http, objectUrl(next++));
    };
    const prober = async () => {
      let probedAt = 0;
      while (!full) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        if (next - probedAt < PROBE_EVERY) continue;
        probedAt = next;
        const m = await metrics(http);
        full = m.cache.utilization >= 0.98 && m.cache.evictions > 0;
      }
    };
    await Promise.all([prober(), ...Array.from({ length: CONCURRENCY }, worker)]);
    const fillCpuSeconds = cpuSeconds(child.pid!) - cpuBefore;
    await settle();
    const end = await metrics(http);
    const rssFull = procStatusBytes(child.pid!, 'VmRSS');
    const payload = await payloadBytes(objectUrl(0));
    const entries = end.cache.entry_count;
    const cell: Cell = {
      object_bytes: objectBytes,
      capacity_mb: capacityMb,
      node_options: nodeOptions,
      warm_requests: warmCount,
      requests: next,
      entry_count: entries,
      size_bytes: end.cache.size_bytes,
      evictions: end.cache.evictions,
      rss_idle_bytes: rssIdle,
      rss_warm_bytes: rssWarm,
      rss_full_bytes: rssFull,
      rss_peak_bytes: procStatusBytes(child.pid!, 'VmHWM'),
      heap_used_idle_bytes: idle.process.heap_used_bytes,
      heap_used_full_bytes: end.process.heap_used_bytes,
      heap_total_idle_bytes: idle.process.heap_total_bytes,
      heap_total_warm_bytes: warm.process.heap_total_bytes,
      heap_total_full_bytes: end.process.heap_total_bytes,
      array_buffers_idle_bytes: idle.process.array_buffers_bytes,
      array_buffers_warm_bytes: warm.process.array_buffers_bytes,
      array_buffers_full_bytes: end.process.array_buffers_bytes,
      fill_cpu_us_per_request: (fillCpuSeconds * 1e6) / next,
      payload_bytes_per_entry: payload,
      overhead_bytes_per_entry: Math.round((rssFull - rssWarm - entries * payload) / entries),
      cache_growth_over_capacity: (rssFull - rssWarm) / (capacityMb * MIB),
      rss_growth_over_capacity: (rssFull - rssIdle) / (capacityMb * MIB),
    };
    process.stdout.write(
      `${fmtSize(objectBytes)} @ ${capacityMb} MB: ${entries} entries, RSS ${mb(rssIdle)} → ${mb(rssWarm)} (warm) → ${mb(rssFull)} MB (peak ${mb(cell.rss_peak_bytes)}), heap ${mb(cell.heap_used_full_bytes)} MB, ` +
        `overhead ${cell.overhead_bytes_per_entry} B/entry, growth ${cell.cache_growth_over_capacity.toFixed(2)}× capacity from warm, ${cell.rss_growth_over_capacity.toFixed(2)}× from idle; ` +
        `growth from warm: V8 heap +${mb(cell.heap_total_full_bytes - cell.heap_total_warm_bytes)}, ArrayBuffers +${mb(cell.array_buffers_full_bytes - cell.array_buffers_warm_bytes)}, rest +${mb(rest(cell, 'full') - rest(cell, 'warm'))} MB; fill ${cell.fill_cpu_us_per_request.toFixed(0)} µs CPU/request\n`,
    );
    return cell;
  } finally {
    child.kill('SIGKILL');
    children.delete(child);
  }
}

const mb = (bytes: number) => (bytes / MIB).toFixed(0);
/** Resident memory neither V8's heap nor ArrayBuffers: malloc (its arenas, V8's own), code, stacks, mapped files. */
const rest = (c: Cell, at: 'idle' | 'warm' | 'full') => c[`rss_${at}_bytes`] - c[`heap_total_${at}_bytes`] - c[`array_buffers_${at}_bytes`];
const fmtSize = (bytes: number) => (bytes >= MIB ? `${bytes / MIB} MiB` : `${bytes / 1024} KiB`);

/**
 * Per object size, RSS at full between the smallest and the largest capacity over the capacity
 * between them: what a node's resident memory grows by per MB of CACHE_CAPACITY_MB, without the
 * costs that do not grow with the entries (which the growth over capacity in the table carries).
 */
function marginalFactors(cells: readonly Cell[]): { object_bytes: number; from_mb: number; to_mb: number; factor: number }[] {
  const lo = Math.min(...CAPACITIES_MB);
  const hi = Math.max(...CAPACITIES_MB);
  if (lo === hi) return [];
  return SIZES.flatMap((size) => {
    const [a, b] = [lo, hi].map((capacity) => cells.find((c) => c.object_bytes === size && c.capacity_mb === capacity));
    return a && b ? [{ object_bytes: size, from_mb: lo, to_mb: hi, factor: (b.rss_full_bytes - a.rss_full_bytes) / ((hi - lo) * MIB) }] : [];
  });
}

/** Where each cell's RSS growth went, and what the fill cost the node's CPU. */
function growthTable(cells: readonly Cell[]): string[] {
  return [
    '| object | capacity | RSS growth idle → warm, MB | warm → full, MB | V8 heap committed idle → warm → full, MB (used at full) | ArrayBuffers warm → full, MB | rest warm → full, MB | fill CPU per request |',
    '|---|---|---|---|---|---|---|---|',
    ...cells.map(
      (c) =>
        `| ${fmtSize(c.object_bytes)} | ${c.capacity_mb} MB | +${mb(c.rss_warm_bytes - c.rss_idle_bytes)} | +${mb(c.rss_full_bytes - c.rss_warm_bytes)} | ${mb(c.heap_total_idle_bytes)} → ${mb(c.heap_total_warm_bytes)} → ${mb(c.heap_total_full_bytes)} (${mb(c.heap_used_full_bytes)}) | +${mb(c.array_buffers_full_bytes - c.array_buffers_warm_bytes)} | ${mb(rest(c, 'warm'))} → ${mb(rest(c, 'full'))} | ${c.fill_cpu_us_per_request.toFixed(0)} µs |`,
    ),
  ];
}

/** A cell as runs before the warm phase recorded it (the baseline). */
type RecordedCell = Omit<Cell, WarmField> & Partial<Pick<Cell, WarmField>>;
type WarmField = 'warm_requests' | 'rss_warm_bytes' | 'heap_total_warm_bytes' | 'array_buffers_warm_bytes' | 'cache_growth_over_capacity';

function table(cells: readonly RecordedCell[]): string[] {
  return [
    '| object | capacity | entries | RSS idle → warm → full (peak), MB | heap used full, MB | size_bytes, MB | overhead / entry | RSS growth / capacity, from warm | from idle |',
    '|---|---|---|---|---|---|---|---|---|',
    ...cells.map(
      (c) =>
        `| ${fmtSize(c.object_bytes)} | ${c.capacity_mb} MB | ${c.entry_count} | ${mb(c.rss_idle_bytes)} → ${c.rss_warm_bytes === undefined ? '–' : mb(c.rss_warm_bytes)} → ${mb(c.rss_full_bytes)} (${mb(c.rss_peak_bytes)}) | ${mb(c.heap_used_full_bytes)} | ${mb(c.size_bytes)} | ${c.overhead_bytes_per_entry} B | ${c.cache_growth_over_capacity === undefined ? '–' : `${c.cache_growth_over_capacity.toFixed(2)}×`} | ${c.rss_growth_over_capacity.toFixed(2)}× |`,
    ),
  ];
}

if (!existsSync('dist/cli/koorde-node.js')) throw new Error('dist/ is missing: run npm run build first');
const started = performance.now();
/** The machine is shared: its load says how far timings (not memory) can be trusted. */
const loadAtStart = loadavg()[0]!;
const origin = new SyntheticOrigin({ port: 0 });
const originUrl = await origin.listen();
const cells: Cell[] = [];
try {
  for (const capacity of CAPACITIES_MB) for (const size of SIZES) cells.push(await measureCell(originUrl, size, capacity));
} finally {
  await origin.close();
}
const elapsed = (performance.now() - started) / 1000;
const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memory_gb: Number((totalmem() / 1024 ** 3).toFixed(1)),
  node: process.version,
  load_average: [Number(loadAtStart.toFixed(1)), Number(loadavg()[0]!.toFixed(1))],
};
const baseline = existsSync(BASELINE) ? (JSON.parse(readFileSync(BASELINE, 'utf8')) as { label: string; cells: RecordedCell[] }) : undefined;

mkdirSync('bench/results', { recursive: true });
const marginal = marginalFactors(cells);
writeFileSync('bench/results/memory.json', JSON.stringify({ machine, concurrency: CONCURRENCY, elapsed_s: elapsed, cells, marginal }, null, 2) + '\n');
for (const m of marginal) process.stdout.write(`${fmtSize(m.object_bytes)}: RSS full ${m.from_mb} → ${m.to_mb} MB capacity grows ${m.factor.toFixed(2)} MB per MB\n`);
if (PARTIAL) {
  process.stdout.write(`wrote bench/results/memory.json (${elapsed.toFixed(0)} s)\n`);
  process.exit(0);
}
const chart = lineChart({
  title: 'RSS growth over CACHE_CAPACITY_MB, cache full',
  xLabel: 'object size, bytes (log scale)',
  yLabel: 'RSS growth / capacity',
  logX: true,
  series: [
    ...CAPACITIES_MB.map((capacity) => ({ name: `${capacity} MB, from warm`, points: cells.filter((c) => c.capacity_mb === capacity).map((c) => [c.object_bytes, c.cache_growth_over_capacity] as const) })),
    ...CAPACITIES_MB.map((capacity) => ({ name: `${capacity} MB, from idle`, dashed: true, points: cells.filter((c) => c.capacity_mb === capacity).map((c) => [c.object_bytes, c.rss_growth_over_capacity] as const) })),
    ...(baseline ? CAPACITIES_MB.map((capacity) => ({ name: `${capacity} MB, from idle, ${baseline.label}`, dashed: true, points: baseline.cells.filter((c) => c.capacity_mb === capacity).map((c) => [c.object_bytes, c.rss_growth_over_capacity] as const) })) : []),
  ],
});
writeFileSync('bench/results/memory.svg', chart);
mkdirSync('docs/benchmarks', { recursive: true });
writeFileSync('docs/benchmarks/memory.svg', chart);
writeFileSync(
  'docs/benchmarks/memory.md',
  [
    '# Memory: what a full cache costs the process',
    '',
    `Generated by \`npm run bench:memory\` in ${elapsed.toFixed(0)} s on ${machine.cores} × ${machine.cpu}, ${machine.memory_gb} GB, Node ${machine.node}`,
    `(load average ${machine.load_average[0]} at the start, ${machine.load_average[1]} at the end).`,
    'For each cell a fresh node (a ring of one, its own process) in front of a local origin first serves distinct objects of the',
    "cell's size that the origin marks `no-store` (the *warm* phase: as many as the capacity would hold, from 1 000 to 20 000),",
    'so that what serving traffic grows by itself (V8\'s young generation, compiled code, the hot-key and parsed-request tables,',
    "sockets, malloc's arenas) has grown with nothing stored; then it is filled with distinct cacheable objects",
    `(${CONCURRENCY} requests at a time) until it reports at least 98 % utilisation and some evictions. RSS is read from /proc`,
    'after a 3 s pause at idle, warm and full, heap from `/metrics`. The node runs with the heap flags of a pod sized for the capacity',
    `(NODE_OPTIONS as the StatefulSet sets them, from \`podLimitMib\` in src/server/container-memory.ts: ${cells.map((c) => `${c.capacity_mb} MB \`${c.node_options}\``).filter((x, i, all) => all.indexOf(x) === i).join(', ')}).`,
    'RSS growth / capacity from warm is what the cache adds to a node that serves the same traffic; from idle it also',
    'counts what serving traffic costs with no cache at all, which a pod pays whatever its capacity (its base, below).',
    'Overhead per entry = (RSS full − RSS warm − entries × (URL + header names and values + body)) / entries:',
    'everything the process spends per stored object beyond the bytes it must keep. It includes costs that do not grow',
    'with the entries (garbage of evicted objects not yet collected, allocator slack), so cells with few entries overstate it;',
    'the heap cost of one entry alone is what `node --expose-gc --import tsx bench/entry-cost.ts` measures.',
    "RSS at full also depends on where the node is in its garbage collector's cycle when it is read: repeated runs of one",
    'cell differ by 10 MB or more, which weighs most in the 64 MB cells.',
    '',
    ...table(cells),
    '',
    'Where the growth goes (`/metrics` at idle, warm and full): V8\'s heap as committed (`heapTotal`: live objects, garbage not',
    'yet collected, free room on its pages), ArrayBuffers (the bodies\' slabs and Buffers), and the rest of RSS (malloc\'s',
    'arenas, code, stacks). The node\'s CPU time per request of the fill, every one a miss, is what its heap flags cost the miss path.',
    '',
    ...growthTable(cells),
    '',
    ...(marginal.length > 0
      ? [
          `Marginal factor, a second figure: (RSS full at ${marginal[0]!.to_mb} MB − RSS full at ${marginal[0]!.from_mb} MB) / ${marginal[0]!.to_mb - marginal[0]!.from_mb} MB, what resident memory`,
          'grows by per MB of CACHE_CAPACITY_MB once the costs that do not grow with the entries are paid (what sizes a pod beyond its base).',
          'The growth over capacity above includes those costs, so it is the larger figure at small capacities.',
          '',
          '| object | marginal factor |',
          '|---|---|',
          ...marginal.map((m) => `| ${fmtSize(m.object_bytes)} | ${m.factor.toFixed(2)} |`),
          '',
        ]
      : []),
    '![RSS growth over capacity](memory.svg)',
    ...(baseline ? ['', `## ${baseline.label}`, '', ...table(baseline.cells)] : []),
    '',
  ].join('\n'),
);
process.stdout.write(`wrote bench/results/memory.json, docs/benchmarks/memory.md (${elapsed.toFixed(0)} s)\n`);
