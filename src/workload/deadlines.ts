import { EventEmitter } from 'node:events';

/** What a request past its deadline fails with: a TimeoutError, as AbortSignal.timeout's. */
function deadlinePassed(ms: number): DOMException {
  return new DOMException(`no complete answer within ${ms} ms`, 'TimeoutError');
}

/** An abort signal undici takes (it listens for 'abort' and reads `reason`), at a tenth of AbortSignal's cost. */
export interface DeadlineSignal extends EventEmitter {
  reason?: DOMException;
}

/**
 * One deadline of `ms` per request in flight, kept by one timer. AbortSignal.timeout made a
 * signal and a timer for every request, 8–9 % of the load generator's CPU against bare node:http
 * (a profile of cache-workload): CPU the nodes it measures share. All deadlines are `ms` after
 * their start, so the map's insertion order is their order, and a sweep stops at the first one
 * still ahead. A deadline is met up to `ms / 8` late.
 */
export class Deadlines {
  readonly #due = new Map<DeadlineSignal, number>();
  #sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly ms: number) {}

  /** A signal that aborts `ms` from now unless ended first. */
  start(): DeadlineSignal {
    const signal: DeadlineSignal = new EventEmitter();
    this.#due.set(signal, performance.now() + this.ms);
    this.#sweeper ??= setInterval(() => this.#sweep(), Math.max(1, this.ms / 8)).unref();
    return signal;
  }

  /** The request ended: its deadline no longer applies. */
  end(signal: DeadlineSignal): void {
    this.#due.delete(signal);
  }

  #sweep(): void {
    const now = performance.now();
    for (const [signal, due] of this.#due) {
      if (due > now) break;
      this.#due.delete(signal);
      signal.reason = deadlinePassed(this.ms);
      signal.emit('abort');
    }
    if (this.#due.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }
}
