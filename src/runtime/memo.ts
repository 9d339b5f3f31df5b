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
