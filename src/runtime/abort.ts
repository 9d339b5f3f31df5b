/** Each signal's watchers, behind one 'abort' listener of its own. */
const watchers = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Runs `onAbort` once, with the signal's reason, if `signal` aborts before the returned function
 * is called. Whatever listens to a long-lived signal (a node's shutdown signal, a client
 * connection's) must stop when its own work ends, or every call leaves a listener behind. A
 * signal that has already aborted fires nothing: check `signal.aborted` first. Watching costs a
 * set entry: adding and removing an EventTarget listener took a microsecond each, and every
 * forwarded request watches its client's connection.
 */
export function whenAborted(signal: AbortSignal | undefined, onAbort: (reason: unknown) => void): () => void {
  if (!signal) return () => {};
  let watching = watchers.get(signal);
  if (!watching) {
    const created = new Set<() => void>();
    const fire = () => {
      for (const watcher of created) watcher();
    };
    signal.addEventListener('abort', fire, { once: true });
    watchers.set(signal, created);
    watching = created;
  }
  const set = watching;
  const watcher = () => onAbort(signal.reason);
  set.add(watcher);
  return () => set.delete(watcher);
}

/**
 * A promise for work that `signal` may abandon. `start` begins the work and may return how to
 * cancel it (a timer, a call). When the signal aborts first, the promise rejects at once with
 * the signal's reason and the work is cancelled; whatever the work reports later is ignored.
 * Either way the abort listener goes once the promise has settled.
 */
export function abortable<T>(
  signal: AbortSignal | undefined,
  start: (resolve: (value: T) => void, reject: (err: unknown) => void) => (() => void) | void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    let settled = false;
    let stopListening = () => {};
    const settle =
      <A>(finish: (value: A) => void) =>
      (value: A) => {
        if (settled) return;
        settled = true;
        stopListening();
        finish(value);
      };
    const fail = settle(reject);
    const cancel = start(settle(resolve), fail);
    if (settled) return;
    stopListening = whenAborted(signal, (reason) => {
      fail(reason);
      cancel?.();
    });
  });
}

/**
 * Runs `work` with `controller`'s signal, which aborts when any of `sources` does (with its
 * reason), and stops listening to them once the work has settled. AbortSignal.any does the same
 * but, on Node 20, keeps a weak reference to each signal it makes in its sources' sets of
 * dependants for as long as those live: on a node's shutdown signal that was two WeakRefs and
 * their Set slots per origin fetch, never given back (20 MB of heap after 140 000 misses).
 */
export async function linkedTo<T>(sources: readonly (AbortSignal | undefined)[], work: (signal: AbortSignal) => Promise<T>, controller = new AbortController()): Promise<T> {
  const stops: (() => void)[] = [];
  for (const source of sources) {
    if (source?.aborted) {
      controller.abort(source.reason);
      break;
    }
    stops.push(whenAborted(source, (reason) => controller.abort(reason)));
  }
  try {
    return await work(controller.signal);
  } finally {
    for (const stop of stops) stop();
  }
}
