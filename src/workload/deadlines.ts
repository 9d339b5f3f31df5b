/** What a request past its deadline fails with: a TimeoutError, as AbortSignal.timeout's. */
function deadlinePassed(ms: number): DOMException {
  return new DOMException(`no complete answer within ${ms} ms`, 'TimeoutError');
}

/** One request's deadline, called with a TimeoutError if the request has not ended by then. */
export type Deadline = (reason: DOMException) => void;

/**
 * One deadline of `ms` per request in flight, kept by one timer. AbortSignal.timeout made a
 * signal and a timer for every request, 8–9 % of the load generator's CPU against bare node:http
 * (a profile of cache-workload): CPU the nodes it measures share. All deadlines are `ms` after
 * their start, so the map's insertion order is their order, and a sweep stops at the first one
 * still ahead. A deadline is met up to `ms / 8` late.
 */
export class Deadlines {
  readonly #due = new Map<Deadline, number>();
  #sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly ms: number) {}

  /** Calls `expire` `ms` from now unless the request ends first. */
  start(expire: Deadline): Deadline {
    this.#due.set(expire, performance.now() + this.ms);
    this.#sweeper ??= setInterval(() => this.#sweep(), Math.max(1, this.ms / 8)).unref();
    return expire;
  }

  /** The request ended: its deadline no longer applies. */
  end(deadline: Deadline): void {
    this.#due.delete(deadline);
  }

  #sweep(): void {
    const now = performance.now();
    for (const [deadline, due] of this.#due) {
      if (due > now) break;
      this.#due.delete(deadline);
      deadline(deadlinePassed(this.ms));
    }
    if (this.#due.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }
}
