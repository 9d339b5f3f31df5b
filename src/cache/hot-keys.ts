import type { Clock } from '../runtime/clock.js';

interface Rate {
  value: number;
  at: number;
  /** When the URL last moved to the recent end of the map. */
  movedAt: number;
}

/** A URL's place in recency order is renewed at most this often: re-inserting on every request cost more than the count. */
const REORDER_MS = 1000;

/** How many URLs' rates are tracked at most; the coldest are forgotten first. */
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
      if (now - rate.movedAt >= REORDER_MS) {
        // Re-inserted: Map order then is recency order (to within REORDER_MS), for pruning.
        rate.movedAt = now;
        this.rates.delete(url);
        this.rates.set(url, rate);
      }
    } else {
      rate = { value: 1, at: now, movedAt: now };
      this.rates.set(url, rate);
      if (this.rates.size > MAX_TRACKED) this.rates.delete(this.rates.keys().next().value!);
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

  private decayed(rate: Rate, now: number): number {
    return rate.value * Math.pow(this.decay, (now - rate.at) / 1000);
  }
}
