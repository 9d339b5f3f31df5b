/** Open loop: a measured run is preceded by this long of the same offered rate. */
const WARMUP_SECONDS = 2;
/** Closed loop: at least this many requests, and every client's connection used a few times. */
const CLOSED_LOOP_WARMUP = 2000;

/**
 * cache-workload's arguments for one measured run of `durationMs` at `concurrency` clients
 * (closed loop) or at `rate` (open loop, at most `concurrency` in flight), after a warm-up at the
 * same load. A fresh generator opens its connections and compiles its hot code during its first
 * second or so; at a high offered rate that start-up backlog, not the cluster, set the p99 (8
 * nodes at 3 000 req/s: p99 435 ms from a cold start, 42 ms after a warm-up at the same rate).
 * Like wrk2's calibration period, the warm-up runs at the measured load and is left out.
 */
export function measuredRunArgs(durationMs: number, concurrency: number, rate?: number): string[] {
  const warmup = rate === undefined ? Math.max(CLOSED_LOOP_WARMUP, 4 * concurrency) : Math.ceil(WARMUP_SECONDS * rate);
  return ['--duration', `${durationMs}ms`, '--concurrency', String(concurrency), ...(rate === undefined ? [] : ['--rate', String(rate)]), '--warmup', String(warmup)];
}
