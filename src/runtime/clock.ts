import { abortable } from './abort.js';

/** A pending callback that can be called off. */
export interface Timer {
  cancel(): void;
}

/**
 * The only source of time for node code: production passes the wall clock, the simulator a
 * virtual clock, so the same code runs in both and simulations are deterministic.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch (virtual clocks start at 0). */
  now(): number;
  setTimeout(callback: () => void, ms: number): Timer;
}

export const wallClock: Clock = {
  // Epoch-based, so values compare across processes (store versions), with sub-ms resolution.
  now: () => performance.timeOrigin + performance.now(),
  setTimeout(callback, ms) {
    const handle = setTimeout(callback, ms);
    // Maintenance timers must not keep a process alive that has nothing else to do.
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};

/** Resolves after `ms` on `clock`, or rejects with the signal's reason when it aborts first. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return abortable(signal, (resolve) => {
    const timer = clock.setTimeout(() => resolve(), ms);
    return () => timer.cancel();
  });
}
