import { DhtError } from '../errors.js';
import type { Clock } from '../runtime/clock.js';
import { seededRng } from '../runtime/rng.js';
import { CacheClient, type Sample } from './client.js';
import { CsvFile } from './csv.js';
import { pace, type PaceInit } from './pacer.js';
import type { Progress } from './progress.js';
import { targetProblem, templateProblem, type WorkloadMode } from './request-url.js';
import { SummaryRecorder, type WorkloadSummary } from './summary.js';
import { Zipf } from './zipf.js';

export interface WorkloadInit {
  /** Base URLs of cache nodes or of a load balancer, e.g. `http://127.0.0.1:8080`; used round-robin. */
  readonly targets: readonly string[];
  /** Sends object `urlId` to the target this returns instead of round robin (benchmark baselines). */
  readonly route?: (urlId: number) => string;
  /** Distinct objects: ranks 1..urls. @default 1000 */
  readonly urls?: number;
  /** Measured requests (warm-up excluded). Give this or `durationMs`. @default 1000 when neither is given */
  readonly requests?: number;
  /** Start requests for this long instead of a fixed count. */
  readonly durationMs?: number;
  /** Open-loop rate in req/s; undefined = closed loop (`concurrency` workers back to back). */
  readonly rate?: number;
  /** Most requests in flight. @default 32 */
  readonly concurrency?: number;
  /** Zipf exponent s > 0 of object popularity. @default 1.2 */
  readonly zipf?: number;
  /** Seed of the rank sequence: the same seed requests the same objects in the same order. @default 1 */
  readonly seed?: number;
  /** Origin URL of object `{i}`. @default 'http://127.0.0.1:9000/obj/{i}' */
  readonly urlTemplate?: string;
  /** `cache`: GET /cache?url=…; `gateway`: GET the object's path. @default 'cache' */
  readonly mode?: WorkloadMode;
  /** Whole-request deadline. @default 10000 */
  readonly timeoutMs?: number;
  /** Requests sent first, paced the same, and left out of the summary and the CSV. @default 0 */
  readonly warmup?: number;
  /** Write one CSV row per measured request here. */
  readonly csvPath?: string;
  readonly progress?: Progress;
  /** Stops starting requests (e.g. on Ctrl-C); the summary covers what was done. */
  readonly signal?: AbortSignal;
  /** Sees every sample, warm-up ones with `measured` false (the benchmark tallies phases with it). */
  readonly onSample?: (sample: Sample, measured: boolean) => void;
}

export const WORKLOAD_DEFAULTS = {
  urls: 1000,
  requests: 1000,
  concurrency: 32,
  zipf: 1.2,
  seed: 1,
  urlTemplate: 'http://127.0.0.1:9000/obj/{i}',
  mode: 'cache',
  timeoutMs: 10_000,
  warmup: 0,
} as const satisfies Partial<WorkloadInit>;

type Defaulted = typeof WORKLOAD_DEFAULTS;
/** `init` with every option it leaves out (or sets to undefined) taken from WORKLOAD_DEFAULTS. */
type StrictWorkloadInit = Omit<WorkloadInit, keyof Defaulted> & { readonly [K in keyof Defaulted]: NonNullable<WorkloadInit[K]> };

function withDefaults(init: WorkloadInit): StrictWorkloadInit {
  const given = Object.fromEntries(Object.entries(init).filter(([, value]) => value !== undefined));
  return { ...WORKLOAD_DEFAULTS, ...given } as StrictWorkloadInit;
}

/** Ranks beyond this would take more than 80 MB of cumulative weights. */
export const MAX_URLS = 10_000_000;

/** Every problem with `init`, named by its command-line flag; empty when it can run. */
export function workloadProblems(init: WorkloadInit): string[] {
  const o = withDefaults(init);
  const problems: string[] = [];
  const check = (ok: boolean, message: string) => void (ok || problems.push(message));
  const isInt = (v: number, min: number, max = Number.MAX_SAFE_INTEGER) => Number.isInteger(v) && v >= min && v <= max;
  const isPositive = (v: number) => Number.isFinite(v) && v > 0;
  check(o.targets.length > 0, 'give a target: --target URL or --targets a,b,c');
  for (const target of o.targets) {
    const problem = targetProblem(target);
    if (problem) problems.push(problem);
  }
  check(isInt(o.urls, 1, MAX_URLS), `--urls must be an integer from 1 to ${MAX_URLS}, got ${o.urls}`);
  check(init.requests === undefined || init.durationMs === undefined, 'give --requests or --duration, not both');
  check(init.requests === undefined || isInt(init.requests, 1), `--requests must be an integer ≥ 1, got ${init.requests}`);
  check(init.durationMs === undefined || isPositive(init.durationMs), `--duration must be longer than 0, got ${init.durationMs} ms`);
  check(init.rate === undefined || isPositive(init.rate), `--rate must be > 0 req/s, got ${init.rate}`);
  check(isInt(o.concurrency, 1), `--concurrency must be an integer ≥ 1, got ${o.concurrency}`);
  check(isPositive(o.zipf), `--zipf must be a number > 0, got ${o.zipf}`);
  check(isInt(o.seed, 0, 2 ** 32 - 1), `--seed must be an integer from 0 to ${2 ** 32 - 1}, got ${o.seed}`);
  const template = templateProblem(o.urlTemplate);
  if (template) problems.push(template);
  check(isPositive(o.timeoutMs), `--timeout must be longer than 0, got ${o.timeoutMs} ms`);
  check(isInt(o.warmup, 0), `--warmup must be an integer ≥ 0, got ${o.warmup}`);
  return problems;
}

// Real time for the pacer. Unlike wallClock, its timers keep the process alive: waiting for the
// next due request may be all that is left to do.
const realClock: Clock = {
  now: () => performance.now(),
  setTimeout(callback, ms) {
    const handle = setTimeout(callback, ms);
    return { cancel: () => clearTimeout(handle) };
  },
};

/**
 * Sends the workload of `init` and resolves with its summary (the `--json` object). Rejects
 * with ERR_INVALID_ARGUMENT, listing every problem, before sending anything if `init` is bad.
 */
export async function runWorkload(init: WorkloadInit): Promise<WorkloadSummary> {
  const problems = workloadProblems(init);
  if (problems.length) throw new DhtError('ERR_INVALID_ARGUMENT', problems.join('; '));
  const o = withDefaults(init);
  const zipf = new Zipf(o.urls, o.zipf);
  const rng = seededRng(o.seed);
  const csv = o.csvPath === undefined ? undefined : await CsvFile.create(o.csvPath);
  const client = new CacheClient({ targets: o.targets, route: init.route, mode: o.mode, urlTemplate: o.urlTemplate, timeoutMs: o.timeoutMs, connections: o.concurrency });
  const recorder = new SummaryRecorder();
  const schedule: PaceInit = { rate: o.rate, concurrency: o.concurrency, signal: o.signal };
  try {
    if (o.warmup > 0) {
      await pace(realClock, { ...schedule, count: o.warmup }, async (index, scheduledAt) => {
        const sample = await client.fetch(index, zipf.sample(rng), scheduledAt);
        o.onSample?.(sample, false);
      });
    }
    const requests = o.durationMs === undefined ? o.requests : undefined;
    const start = realClock.now();
    o.progress?.start({ total: requests, durationMs: o.durationMs });
    const pacing = await pace(realClock, { ...schedule, count: requests, durationMs: o.durationMs }, async (index, scheduledAt) => {
      const sample = await client.fetch(index, zipf.sample(rng), scheduledAt);
      recorder.record(sample);
      csv?.write(sample);
      o.onSample?.(sample, true);
      o.progress?.update({ done: recorder.requests, errors: recorder.errors, elapsedMs: realClock.now() - start });
    });
    return recorder.summary(realClock.now() - start, pacing);
  } finally {
    o.progress?.stop();
    await Promise.all([client.close(), csv?.close()]);
  }
}
