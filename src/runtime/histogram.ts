/**
 * Latency quantiles in constant memory: log-spaced buckets 2 % wide from 1 µs to ~3 h, so any
 * quantile is within 2 % of the true value. Enough for /metrics; the load generator uses HDR.
 */
export class LogHistogram {
  private static readonly GROWTH = 1.02;
  private static readonly MIN = 0.001;
  private static readonly LOG_GROWTH = Math.log(LogHistogram.GROWTH);
  /** ~1e32 ms: far beyond any duration measured. */
  private static readonly MAX_BUCKET = 4096;
  /** Count per bucket index: an array, since recording is on every request's path. */
  private readonly counts: number[] = [];
  #count = 0;
  #sum = 0;
  #max = 0;

  record(value: number): void {
    const v = Math.max(LogHistogram.MIN, value);
    // Capped (and NaN in bucket 0), so no value can grow the array without bound.
    const bucket = Math.min(LogHistogram.MAX_BUCKET, Math.floor(Math.log(v / LogHistogram.MIN) / LogHistogram.LOG_GROWTH)) || 0;
    // Filled up to the highest bucket seen, so the array stays packed.
    while (this.counts.length <= bucket) this.counts.push(0);
    this.counts[bucket]!++;
    this.#count++;
    this.#sum += value;
    this.#max = Math.max(this.#max, value);
  }

  get count(): number {
    return this.#count;
  }

  get mean(): number {
    return this.#count ? this.#sum / this.#count : 0;
  }

  get max(): number {
    return this.#max;
  }

  /** The value below which a fraction q of the recorded values lie (upper edge of its bucket). */
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    const target = q * this.#count;
    let seen = 0;
    for (let bucket = 0; bucket < this.counts.length; bucket++) {
      seen += this.counts[bucket]!;
      if (seen >= target) return Math.min(this.#max, LogHistogram.MIN * LogHistogram.GROWTH ** (bucket + 1));
    }
    return this.#max;
  }
}
