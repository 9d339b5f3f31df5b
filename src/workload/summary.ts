import * as hdr from 'hdr-histogram-js';
import type { Sample } from './client.js';
import type { PaceReport } from './pacer.js';

/**
 * The run's result: exactly the `--json` object of docs/api.md (those names are a contract), plus extra
 * fields after them. Latencies are over ok responses only, so fast failures never flatter them.
 */
export interface WorkloadSummary {
  /** Requests measured (warm-up excluded), whatever their outcome. */
  readonly requests: number;
  /** Answered 2xx or 3xx. */
  readonly ok: number;
  readonly errors: number;
  /** From the first measured start to the last answer. */
  readonly duration_s: number;
  /** requests / duration_s. */
  readonly throughput_rps: number;
  readonly latency_ms: { readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number; readonly mean: number };
  /** Share of ok responses whose X-Cache starts with HIT or is REVALIDATED (0 without ok responses). */
  readonly hit_rate: number;
  /** Ok responses by X-Cache value; those without the header count under `none`. Sums to `ok`. */
  readonly by_cache_status: Readonly<Record<string, number>>;
  /** Mean X-Hops over ok responses that carry it; null when none did. */
  readonly hops_mean: number | null;
  /** ok / duration_s. */
  readonly ok_rps: number;
  /** Failed requests by kind (`http_503`, `timeout`, `connection_refused`, …). Sums to `errors`. */
  readonly errors_by_kind: Readonly<Record<string, number>>;
  /** Open loop only: starts more than LATE_TOLERANCE_MS behind schedule; 0 in closed loop. */
  readonly late_starts: number;
  /** Open loop only: starts that had to wait for a free slot under the concurrency cap. */
  readonly cap_waits: number;
  readonly max_start_lag_ms: number;
  readonly bytes_received: number;
}

/** X-Cache value under which ok responses without the header are counted. */
export const NO_CACHE_STATUS = 'none';

/** docs/api.md: served from some cache, or a stale copy the owner revalidated with the origin. */
export function isHit(cacheStatus: string): boolean {
  return cacheStatus.startsWith('HIT') || cacheStatus === 'REVALIDATED';
}

/** Collects samples into a WorkloadSummary in constant memory (HDR histogram, µs precision). */
export class SummaryRecorder {
  // 3 significant digits: every quantile is within 0.1 % of the exact value.
  private readonly latencyUs = hdr.build({ useWebAssembly: false, autoResize: true, lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3 });
  private readonly byCacheStatus: Record<string, number> = {};
  private readonly errorsByKind: Record<string, number> = {};
  #requests = 0;
  #ok = 0;
  #hits = 0;
  #hopsSum = 0;
  #hopsCount = 0;
  #bytes = 0;
  #maxLatencyMs = 0;
  #latencySumMs = 0;

  /** Samples recorded so far, and how many of them failed (for progress reports). */
  get requests(): number {
    return this.#requests;
  }

  get errors(): number {
    return this.#requests - this.#ok;
  }

  record(sample: Sample): void {
    this.#requests++;
    this.#bytes += sample.bytes;
    if (sample.error !== undefined) {
      this.errorsByKind[sample.error] = (this.errorsByKind[sample.error] ?? 0) + 1;
      return;
    }
    this.#ok++;
    this.latencyUs.recordValue(Math.max(1, Math.round(sample.latencyMs * 1000)));
    this.#maxLatencyMs = Math.max(this.#maxLatencyMs, sample.latencyMs);
    this.#latencySumMs += sample.latencyMs;
    const cacheStatus = sample.cacheStatus ?? NO_CACHE_STATUS;
    this.byCacheStatus[cacheStatus] = (this.byCacheStatus[cacheStatus] ?? 0) + 1;
    if (sample.cacheStatus !== undefined && isHit(sample.cacheStatus)) this.#hits++;
    if (sample.hops !== undefined) {
      this.#hopsSum += sample.hops;
      this.#hopsCount++;
    }
  }

  summary(durationMs: number, pacing: PaceReport): WorkloadSummary {
    const seconds = durationMs / 1000;
    const perSecond = (n: number) => (seconds > 0 ? n / seconds : 0);
    // HDR reports the top of a value's bucket, which can exceed the true maximum.
    const quantile = (q: number) => (this.#ok ? Math.min(this.#maxLatencyMs, this.latencyUs.getValueAtPercentile(q) / 1000) : 0);
    // Microseconds are what was measured; more digits would only be noise in the JSON.
    const us = (ms: number) => Math.round(ms * 1000) / 1000;
    return {
      requests: this.#requests,
      ok: this.#ok,
      errors: this.#requests - this.#ok,
      duration_s: Math.round(seconds * 1e6) / 1e6,
      throughput_rps: perSecond(this.#requests),
      latency_ms: {
        p50: us(quantile(50)),
        p95: us(quantile(95)),
        p99: us(quantile(99)),
        max: us(this.#maxLatencyMs),
        mean: us(this.#ok ? this.#latencySumMs / this.#ok : 0),
      },
      hit_rate: this.#ok ? this.#hits / this.#ok : 0,
      by_cache_status: sortedByCount(this.byCacheStatus),
      hops_mean: this.#hopsCount ? this.#hopsSum / this.#hopsCount : null,
      ok_rps: perSecond(this.#ok),
      errors_by_kind: sortedByCount(this.errorsByKind),
      late_starts: pacing.lateStarts,
      cap_waits: pacing.capWaits,
      max_start_lag_ms: us(pacing.maxLagMs),
      bytes_received: this.#bytes,
    };
  }
}

function sortedByCount(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).sort(([a, x], [b, y]) => y - x || a.localeCompare(b)));
}
