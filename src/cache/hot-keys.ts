import type { Clock } from '../runtime/clock.js';

interface Rate {
  value: number;
  at: number;
}

/**
 * How many URLs' rates are tracked at most. Reaching it, the half requested least recently is
 * forgotten in one pass: dropping the oldest one by one, at the head of the Map, cost ~7 µs per
 * new URL, because V8 skips a Map's deleted slots one at a time until it rebuilds the table.
 */
const MAX_TRACKED = 10_000;

/**
 * A decayed request rate per URL, over every request the owner serves: each request adds 1,
 * and the sum shrinks by `decay` per second. A URL above `threshold` is hot.
 */
export class HotKeys {
  private readonly rates = new Map<string, Rate>();

  constructor(
    private readonly clock: Clock,
    private readonly threshold: number,
    /** Per-second factor in (0, 1). */
    private readonly decay: number,
  ) {}

  /** Counts one request and says whether the URL is hot now. */
  hit(url: string): boolean {
    const now = this.clock.now();
    let rate = this.rates.get(url);
    if (rate) {
      rate.value = this.decayed(rate, now) + 1; // updated in place: no garbage per request
      rate.at = now;
    } else {
      if (this.rates.size >= MAX_TRACKED) this.forgetLeastRecent();
      rate = { value: 1, at: now };
      this.rates.set(url, rate);
    }
    return rate.value >= this.threshold;
  }

  /** Hot URLs with their current rate, hottest first. */
  hot(): { url: string; rate: number }[] {
    const now = this.clock.now();
    return [...this.rates]
      .map(([url, rate]) => ({ url, rate: this.decayed(rate, now) }))
      .filter((r) => r.rate >= this.threshold)
      .sort((a, b) => b.rate - a.rate);
  }

  /** Forgets every URL last requested no later than the median: at least half of them. */
  private forgetLeastRecent(): void {
    const times = Float64Array.from(this.rates.values(), (rate) => rate.at).sort();
    const median = times[times.length >> 1]!;
    for (const [url, rate] of this.rates) if (rate.at <= median) this.rates.delete(url);
  }

  private decayed(rate: Rate, now: number): number {
    return rate.value * Math.pow(this.decay, (now - rate.at) / 1000);
  }
}
