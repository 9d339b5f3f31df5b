import { LogHistogram } from '../runtime/histogram.js';
import type { LookupResult } from './lookup.js';
import type { HopKind } from './route-step.js';

/** Running totals over the lookups a node started, for /metrics and the simulator. */
export class LookupStats {
  count = 0;
  failures = 0;
  fallbacks = 0;
  readonly byKind: Record<HopKind, number> = { finger: 0, successor: 0, debruijn: 0, correction: 0 };
  /** Total round-trip time of the hops of each kind that answered. */
  readonly msByKind: Record<HopKind, number> = { finger: 0, successor: 0, debruijn: 0, correction: 0 };
  /** Calls of each kind to candidates that did not answer, and the time they cost. */
  readonly failedByKind: Record<HopKind, number> = { finger: 0, successor: 0, debruijn: 0, correction: 0 };
  readonly failedMsByKind: Record<HopKind, number> = { finger: 0, successor: 0, debruijn: 0, correction: 0 };
  /** hopCounts[h] = lookups that took h hops; exact, and small (h stays below the hop budget). */
  readonly hopCounts: number[] = [];
  readonly latencyMs = new LogHistogram();

  record(result: LookupResult, ms = 0): void {
    this.count++;
    this.latencyMs.record(ms);
    this.fallbacks += result.fallbacks;
    for (const kind of Object.keys(this.byKind) as HopKind[]) this.byKind[kind] += result.hopsByKind[kind];
    for (const hop of result.path) this.msByKind[hop.kind] += hop.ms;
    for (const failed of result.failedHops) {
      this.failedByKind[failed.kind]++;
      this.failedMsByKind[failed.kind] += failed.ms;
    }
    this.hopCounts[result.hops] = (this.hopCounts[result.hops] ?? 0) + 1;
  }

  recordFailure(): void {
    this.failures++;
  }

  /** Mean round trip of the hops of one kind that answered, ms (0 before the first). */
  meanHopMs(kind: HopKind): number {
    return this.byKind[kind] ? this.msByKind[kind] / this.byKind[kind] : 0;
  }

  /** Mean time lost on calls of one kind to candidates that did not answer, ms. */
  meanFailedHopMs(kind: HopKind): number {
    return this.failedByKind[kind] ? this.failedMsByKind[kind] / this.failedByKind[kind] : 0;
  }

  get meanHops(): number {
    let total = 0;
    this.hopCounts.forEach((n, hops) => (total += n * hops));
    return this.count ? total / this.count : 0;
  }

  /** The smallest hop count h such that a fraction q of lookups took h hops or fewer. */
  hopQuantile(q: number): number {
    let seen = 0;
    for (let h = 0; h < this.hopCounts.length; h++) {
      seen += this.hopCounts[h] ?? 0;
      if (seen >= q * this.count) return h;
    }
    return 0;
  }
}
