import type { Rng } from '../runtime/rng.js';

/**
 * Exact Zipf distribution over ranks 1..n: p(k) ∝ k^-s, for any exponent s > 0 (also s ≤ 1,
 * where rejection samplers built for s > 1 do not apply). The cumulative weights are computed
 * once (8 bytes per rank, so n = 1e6 takes 8 MB) and each draw is one uniform number and a
 * binary search: O(log n), no approximation beyond floating point.
 */
export class Zipf {
  /** cumulative[k - 1] = Σ_{j ≤ k} j^-s, not normalised (the last entry is the normaliser). */
  private readonly cumulative: Float64Array;

  constructor(
    readonly n: number,
    readonly s: number,
  ) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`Zipf needs an integer number of ranks ≥ 1, got ${n}`);
    if (!(s > 0) || !Number.isFinite(s)) throw new RangeError(`Zipf needs a finite exponent > 0, got ${s}`);
    this.cumulative = new Float64Array(n);
    let sum = 0;
    for (let k = 1; k <= n; k++) {
      sum += k ** -s;
      this.cumulative[k - 1] = sum;
    }
  }

  /** Probability of rank k (0 outside 1..n). */
  pmf(k: number): number {
    if (!Number.isInteger(k) || k < 1 || k > this.n) return 0;
    return k ** -this.s / this.cumulative[this.n - 1]!;
  }

  /** A rank in 1..n drawn with probability pmf(rank). */
  sample(rng: Rng): number {
    const u = rng.next() * this.cumulative[this.n - 1]!;
    // The first rank whose cumulative weight exceeds u; u < total, so it exists.
    let lo = 0;
    let hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cumulative[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return lo + 1;
  }
}
