/**
 * Runs `onAbort` once, with the signal's reason, if `signal` aborts before the returned function
 * is called. Whatever listens to a long-lived signal (a node's shutdown signal) must stop when
 * its own work ends, or every call leaves a listener behind. A signal that has already aborted
 * fires nothing: check `signal.aborted` first.
 */
export function whenAborted(signal: AbortSignal | undefined, onAbort: (reason: unknown) => void): () => void {
  if (!signal) return () => {};
  const listener = () => onAbort(signal.reason);
  signal.addEventListener('abort', listener, { once: true });
  return () => signal.removeEventListener('abort', listener);
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
