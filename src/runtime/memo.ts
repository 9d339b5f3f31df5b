import type { Clock } from './clock.js';

/**
 * `compute` shared by its callers: while one run is under way every caller gets it, and its
 * result is reused for `ttlMs` after it settles. A failure is not kept: the next call runs anew.
 */
export function sharedFor<T>(clock: Clock, ttlMs: number, compute: () => Promise<T>): () => Promise<T> {
  let kept: { readonly value: Promise<T>; settledAt?: number } | undefined;
  return () => {
    if (kept && (kept.settledAt === undefined || clock.now() - kept.settledAt < ttlMs)) return kept.value;
    const entry: { value: Promise<T>; settledAt?: number } = { value: compute() };
    kept = entry;
    entry.value.then(
      () => (entry.settledAt = clock.now()),
      () => {
        if (kept === entry) kept = undefined;
      },
    );
    return entry.value;
  };
}

/**
 * `compute` of a string, remembered for at most `limit` distinct arguments of at most
 * `maxKeyLength` characters, the last `limit / 2` of them at least: for work every request
 * repeats for the same few URLs. Longer arguments are computed each time, so hostile ones cannot
 * pin much memory; a failure is not remembered. Two generations of results, the older dropped
 * whole when the newer fills: dropping the oldest result of one Map at a time cost each new
 * argument 1–2 µs, as V8 skips a Map's deleted slots one by one until it rebuilds the table.
 */
export function recentResults<T>(limit: number, maxKeyLength: number, compute: (key: string) => T): (key: string) => T {
  let newer = new Map<string, T>();
  let older = new Map<string, T>();
  return (key) => {
    let value = newer.get(key);
    if (value !== undefined) return value;
    value = older.get(key) ?? compute(key);
    if (key.length <= maxKeyLength) {
      newer.set(key, value);
      if (newer.size >= limit / 2) {
        older = newer;
        newer = new Map();
      }
    }
    return value;
  };
}
