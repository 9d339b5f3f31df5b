import type { Clock } from '../runtime/clock.js';

/** What the guard needs of the store: a way to drop its oldest entries. */
export interface Evictable {
  /** Evicts least recently used entries until `bytes` of accounted size are gone; returns how many. */
  evictOldest(bytes: number): number;
}

export interface MemoryGuardInit {
  /** Resident memory the process must stay under (CACHE_MEMORY_LIMIT_MB, or derived from the container). */
  readonly limitBytes: number;
  /** Once over the limit, evict until resident memory would be this share of it. @default 0.85 */
  readonly lowWaterShare?: number;
  /** Shortest time between two pressure evictions: freed memory shows in RSS only after a GC. @default 1000 */
  readonly cooldownMs?: number;
}

/**
 * Keeps the process under a resident-memory ceiling by evicting cached objects, oldest first,
 * before the kernel's OOM killer ends the process. RSS lags behind evictions (the garbage
 * collector and the allocator release memory later), so one round evicts the excess over the
 * low-water mark in accounted bytes and the next waits out a cool-down before judging again.
 */
export class MemoryGuard {
  readonly limitBytes: number;
  readonly lowWaterBytes: number;
  private readonly cooldownMs: number;
  #pressureEvictions = 0;
  #rssBytes = 0;
  #lastEvictionAt = -Infinity;
  #storedSinceCheck = 0;

  constructor(
    private readonly store: Evictable,
    /** Resident set size of the process now (process.memoryUsage.rss in a real node). */
    private readonly readRss: () => number,
    private readonly clock: Clock,
    init: MemoryGuardInit,
  ) {
    this.limitBytes = init.limitBytes;
    this.lowWaterBytes = Math.floor(init.limitBytes * (init.lowWaterShare ?? 0.85));
    this.cooldownMs = init.cooldownMs ?? 1000;
  }

  /** Entries evicted because resident memory reached the limit. */
  get pressureEvictions(): number {
    return this.#pressureEvictions;
  }

  /** Resident memory at the last check. */
  get rssBytes(): number {
    return this.#rssBytes;
  }

  /** Reads resident memory and evicts if it is at the limit; returns the entries evicted. */
  check(): number {
    this.#storedSinceCheck = 0;
    this.#rssBytes = this.readRss();
    const now = this.clock.now();
    if (this.#rssBytes < this.limitBytes || now - this.#lastEvictionAt < this.cooldownMs) return 0;
    this.#lastEvictionAt = now;
    const evicted = this.store.evictOldest(this.#rssBytes - this.lowWaterBytes);
    this.#pressureEvictions += evicted;
    return evicted;
  }

  /**
   * Called after each store: checks once a 256th of the limit has been stored since the last
   * check, so a miss storm is caught between two periodic checks without a reading per request.
   */
  stored(bytes: number): void {
    this.#storedSinceCheck += bytes;
    if (this.#storedSinceCheck >= this.limitBytes / 256) this.check();
  }
}
