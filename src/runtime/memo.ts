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
 * `compute` of a string, remembered for the last `limit` distinct arguments of at most
 * `maxKeyLength` characters (the oldest forgotten first): for work every request repeats for the
 * same few URLs. Longer arguments are computed each time, so hostile ones cannot pin much memory;
 * a failure is not remembered.
 */
export function recentResults<T>(limit: number, maxKeyLength: number, compute: (key: string) => T): (key: string) => T {
  const kept = new Map<string, T>();
  return (key) => {
    let value = kept.get(key);
    if (value !== undefined) return value;
    value = compute(key);
    if (key.length <= maxKeyLength) {
      kept.set(key, value);
      if (kept.size > limit) kept.delete(kept.keys().next().value!);
    }
    return value;
  };
}
