import { LATE_TOLERANCE_MS } from './pacer.js';
import type { WorkloadSummary } from './summary.js';

/** How the run was paced, for the summary's last lines. */
export interface PacingPlan {
  /** Open-loop rate, req/s; undefined = closed loop. */
  readonly rate?: number;
  readonly concurrency: number;
}

/** The human summary printed at the end of a run (the JSON file carries the same figures). */
export function formatSummary(s: WorkloadSummary, plan: PacingPlan): string {
  const ms = (v: number) => v.toFixed(2);
  const percent = (part: number, whole: number) => `${whole ? ((100 * part) / whole).toFixed(1) : '0.0'} %`;
  const list = (counts: Readonly<Record<string, number>>, whole?: number) =>
    Object.entries(counts)
      .map(([key, n]) => (whole === undefined ? `${key} ${n}` : `${key} ${n} (${percent(n, whole)})`))
      .join(', ') || '-';
  const lines = [
    `requests     ${s.requests} in ${s.duration_s.toFixed(2)} s: ${s.ok} ok, ${s.errors} errors`,
    `throughput   ${s.throughput_rps.toFixed(1)} req/s (${s.ok_rps.toFixed(1)} ok/s)`,
    `errors       ${list(s.errors_by_kind)}`,
    `latency ms   p50 ${ms(s.latency_ms.p50)}  p95 ${ms(s.latency_ms.p95)}  p99 ${ms(s.latency_ms.p99)}  max ${ms(s.latency_ms.max)}  mean ${ms(s.latency_ms.mean)}  (ok responses)`,
    `X-Cache      ${list(s.by_cache_status, s.ok)}`,
    `hit rate     ${percent(s.hit_rate * s.ok, s.ok)} of ok responses (HIT-* or REVALIDATED)`,
    `hops         ${s.hops_mean === null ? 'no X-Hops header seen' : `mean ${s.hops_mean.toFixed(2)} (X-Hops)`}`,
    plan.rate === undefined
      ? `pacing       closed loop, ${plan.concurrency} in flight`
      : `pacing       open loop at ${plan.rate} req/s, at most ${plan.concurrency} in flight, max start lag ${ms(s.max_start_lag_ms)} ms`,
  ];
  const late = lateStartWarning(s, plan);
  if (late) lines.push(late);
  return lines.join('\n') + '\n';
}

/** Never slow down silently: one line saying that, and why, the schedule was not kept. */
export function lateStartWarning(s: WorkloadSummary, plan: PacingPlan): string | undefined {
  if (s.late_starts === 0) return undefined;
  const what = `${s.late_starts} requests started late (over ${LATE_TOLERANCE_MS} ms), max lag ${ms0(s.max_start_lag_ms)} ms`;
  return s.cap_waits > 0
    ? `WARNING: target could not keep up: ${what}; ${s.cap_waits} waited for one of the ${plan.concurrency} in-flight slots`
    : `WARNING: the load generator could not keep up (no slot was short): ${what}`;
}

function ms0(v: number): string {
  return v.toFixed(0);
}
