import { ClientError, DhtClient } from '../client/dht-client.js';
import { wallClock } from '../runtime/clock.js';
import { LogHistogram } from '../runtime/histogram.js';
import { seededRng } from '../runtime/rng.js';
import { CsvFile, csvLine } from '../workload/csv.js';
import { pace } from '../workload/pacer.js';

/** Columns of the per-lookup CSV, the original tester's first. */
export const LOOKUP_CSV_COLUMNS = ['timestamp', 'key', 'hops', 'latency_ms', 'owner', 'error', 'target'] as const;

/** How often the node list is asked again (a DNS name follows pods that come and go). */
const TARGET_REFRESH_MS = 5000;

export interface LookupLoadInit {
  /** gRPC addresses to send lookups to, round robin; asked again every few seconds. */
  readonly targets: () => Promise<string[]>;
  /** Lookups started per second (open loop). */
  readonly rate: number;
  /** Stop after this many lookups… */
  readonly count?: number;
  /** …or after this long. */
  readonly durationMs?: number;
  /** Most lookups in flight. */
  readonly concurrency: number;
  /** Keys are uniform in [0, 2^idBits): the nodes' DHT_ID_BITS. */
  readonly idBits: number;
  readonly seed: number;
  readonly timeoutMs: number;
  readonly csvPath?: string;
  readonly signal?: AbortSignal;
}

export interface LookupRecord {
  readonly startedAt: number;
  readonly key: string;
  readonly hops?: number;
  readonly latencyMs: number;
  readonly owner?: string;
  readonly error?: string;
  readonly target: string;
}

export interface LookupLoadSummary {
  lookups: number;
  ok: number;
  errors: number;
  errors_by_kind: Record<string, number>;
  duration_s: number;
  throughput_rps: number;
  late_starts: number;
  latency_ms: { p50: number; p95: number; p99: number; max: number };
  hops: { mean: number; p99: number; max: number };
  /** Distinct owners seen: how much of the ring the keys reached. */
  owners: number;
}

export function lookupCsvLine(r: LookupRecord): string {
  return csvLine([new Date(r.startedAt).toISOString(), r.key, r.hops, r.latencyMs.toFixed(3), r.owner, r.error, r.target]);
}

/**
 * The lookup load test of the original `tester`: random keys at a fixed rate, over gRPC
 * (client.v1 Lookup), spread round robin over the nodes; one CSV row per lookup and a summary.
 */
export async function runLookupLoad(init: LookupLoadInit): Promise<LookupLoadSummary> {
  let targets = await init.targets();
  if (targets.length === 0) throw new Error('no node to send lookups to (the static list is empty or the DNS name has no addresses)');
  const refresh = setInterval(() => {
    init.targets().then(
      (found) => void (found.length > 0 && (targets = found)),
      () => {}, // keep the last good list: a failed refresh is no reason to stop
    );
  }, TARGET_REFRESH_MS);
  // Left referenced on purpose: the pacer's timers are unref'd, and gRPC channels idle between
  // lookups do not hold the event loop either, so this timer is what keeps a run alive.
  const clients = new Map<string, DhtClient>();
  const clientFor = (addr: string) => clients.get(addr) ?? clients.set(addr, new DhtClient(addr, init.timeoutMs)).get(addr)!;
  const rng = seededRng(init.seed);
  const digits = Math.ceil(init.idBits / 4);
  const csv = init.csvPath === undefined ? undefined : await CsvFile.create<LookupRecord>(init.csvPath, LOOKUP_CSV_COLUMNS, lookupCsvLine);
  const latency = new LogHistogram();
  const hopCounts: number[] = [];
  const errors: Record<string, number> = {};
  const owners = new Set<string>();
  let ok = 0;
  let lookups = 0;
  const started = performance.now();
  try {
    const report = await pace(wallClock, init, async (i) => {
      const target = targets[i % targets.length]!;
      const key = rng.bits(init.idBits).toString(16).padStart(digits, '0');
      const startedAt = Date.now();
      const t0 = performance.now();
      let record: LookupRecord;
      try {
        const found = await clientFor(target).lookup(key);
        record = { startedAt, key, hops: found.hops, latencyMs: performance.now() - t0, owner: found.successor.addr, target };
        ok++;
        latency.record(record.latencyMs);
        if (found.hops !== undefined) hopCounts[found.hops] = (hopCounts[found.hops] ?? 0) + 1;
        owners.add(found.successor.addr);
      } catch (err) {
        const kind = err instanceof ClientError ? err.kind : 'failed';
        errors[kind] = (errors[kind] ?? 0) + 1;
        record = { startedAt, key, latencyMs: performance.now() - t0, error: `${kind}: ${(err as Error).message}`, target };
      }
      lookups++;
      csv?.write(record);
    });
    const seconds = (performance.now() - started) / 1000;
    return {
      lookups,
      ok,
      errors: lookups - ok,
      errors_by_kind: errors,
      duration_s: seconds,
      throughput_rps: seconds > 0 ? lookups / seconds : 0,
      late_starts: report.lateStarts,
      latency_ms: { p50: latency.quantile(0.5), p95: latency.quantile(0.95), p99: latency.quantile(0.99), max: latency.max },
      hops: hopSummary(hopCounts),
      owners: owners.size,
    };
  } finally {
    clearInterval(refresh);
    for (const client of clients.values()) client.close();
    await csv?.close();
  }
}

function hopSummary(counts: readonly number[]): LookupLoadSummary['hops'] {
  const total = counts.reduce((a, n) => a + (n ?? 0), 0);
  if (total === 0) return { mean: 0, p99: 0, max: 0 };
  let sum = 0;
  let seen = 0;
  let p99 = 0;
  counts.forEach((n, hops) => {
    sum += n * hops;
    if (seen < 0.99 * total && seen + n >= 0.99 * total) p99 = hops;
    seen += n;
  });
  return { mean: sum / total, p99, max: counts.length - 1 };
}

export function formatLookupSummary(s: LookupLoadSummary): string {
  const kinds = Object.entries(s.errors_by_kind).map(([kind, n]) => `${kind} ${n}`);
  const f = (ms: number) => `${ms.toFixed(1)} ms`;
  return [
    `lookups      ${s.lookups} (${s.ok} ok, ${s.errors} errors${kinds.length ? `: ${kinds.join(', ')}` : ''})`,
    `throughput   ${s.throughput_rps.toFixed(1)} lookups/s over ${s.duration_s.toFixed(1)} s${s.late_starts ? `, ${s.late_starts} late starts` : ''}`,
    `latency      p50 ${f(s.latency_ms.p50)}  p95 ${f(s.latency_ms.p95)}  p99 ${f(s.latency_ms.p99)}  max ${f(s.latency_ms.max)}`,
    `hops         mean ${s.hops.mean.toFixed(2)}  p99 ${s.hops.p99}  max ${s.hops.max}`,
    `owners       ${s.owners} distinct nodes`,
    '',
  ].join('\n');
}
