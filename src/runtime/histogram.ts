/**
 * Latency quantiles in constant memory: log-spaced buckets 2 % wide from 1 µs to ~3 h, so any
 * quantile is within 2 % of the true value. Enough for /metrics; the load generator uses HDR.
 */
export class LogHistogram {
  private static readonly GROWTH = 1.02;
  private static readonly MIN = 0.001;
  private readonly counts = new Map<number, number>();
  #count = 0;
  #sum = 0;
  #max = 0;

  record(value: number): void {
    const v = Math.max(LogHistogram.MIN, value);
    const bucket = Math.floor(Math.log(v / LogHistogram.MIN) / Math.log(LogHistogram.GROWTH));
    this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + 1);
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
    for (const bucket of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(bucket)!;
      if (seen >= target) return Math.min(this.#max, LogHistogram.MIN * LogHistogram.GROWTH ** (bucket + 1));
    }
    return this.#max;
  }
}
