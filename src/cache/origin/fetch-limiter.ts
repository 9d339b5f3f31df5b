import { DhtError } from '../../errors.js';
import { whenAborted } from '../../runtime/abort.js';
import type { Clock, Timer } from '../../runtime/clock.js';

export interface FetchLimits {
  /** Origin requests in flight at once on this node. */
  readonly maxConcurrent: number;
  /** Origin requests in flight at once to one host (scheme, host and port). */
  readonly maxPerHost: number;
  /** Requests that may wait for a slot; more are refused at once. */
  readonly maxQueued: number;
  /** Longest wait for a slot before the request is refused. */
  readonly queueTimeoutMs: number;
}

interface Waiter {
  readonly host: string;
  /** Hands the waiter its slot (already counted, so no newcomer takes it first). */
  readonly admit: (release: () => void) => void;
}

/**
 * Bounds the origin requests of a node, overall and per host, so that a flood of distinct URLs
 * (or one slow origin) cannot open unbounded sockets and buffers. Requests over the limits wait
 * in FIFO order, up to `maxQueued` of them for at most `queueTimeoutMs`; the rest are refused
 * with ERR_OVERLOADED (HTTP 503), which tells a client to come back later.
 */
export class FetchLimiter {
  private active = 0;
  private readonly perHost = new Map<string, number>();
  private readonly queue: Waiter[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly limits: FetchLimits,
  ) {}

  /** Waits for a slot for `host`; the returned function gives it back (call it exactly once). */
  async acquire(host: string, signal?: AbortSignal): Promise<() => void> {
    if (this.fits(host)) return this.take(host);
    if (this.queue.length >= this.limits.maxQueued) {
      throw new DhtError('ERR_OVERLOADED', `too many origin requests waiting (${this.queue.length}); try again later`);
    }
    signal?.throwIfAborted();
    return new Promise<() => void>((resolve, reject) => {
      let timer: Timer | undefined = undefined;
      let stopWatching = () => {};
      const leave = (err: unknown) => {
        const at = this.queue.indexOf(waiter);
        if (at >= 0) this.queue.splice(at, 1);
        stopWatching();
        timer?.cancel();
        reject(err);
      };
      const waiter: Waiter = {
        host,
        admit: (release) => {
          stopWatching();
          timer?.cancel();
          resolve(release);
        },
      };
      this.queue.push(waiter);
      stopWatching = whenAborted(signal, leave);
      timer = this.clock.setTimeout(
        () => leave(new DhtError('ERR_OVERLOADED', `waited ${this.limits.queueTimeoutMs} ms for an origin request slot to ${host}; try again later`)),
        this.limits.queueTimeoutMs,
      );
    });
  }

  /** Requests in flight and waiting, for /metrics. */
  get load(): { active: number; queued: number } {
    return { active: this.active, queued: this.queue.length };
  }

  private fits(host: string): boolean {
    return this.active < this.limits.maxConcurrent && (this.perHost.get(host) ?? 0) < this.limits.maxPerHost;
  }

  private take(host: string): () => void {
    this.active++;
    this.perHost.set(host, (this.perHost.get(host) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      const left = this.perHost.get(host)! - 1;
      if (left === 0) this.perHost.delete(host);
      else this.perHost.set(host, left);
      this.admitWaiting();
    };
  }

  /** Lets in, oldest first, every waiter that fits now; a waiter for a busy host does not block others. */
  private admitWaiting(): void {
    for (let at = 0; at < this.queue.length && this.active < this.limits.maxConcurrent; ) {
      const waiter = this.queue[at]!;
      if (!this.fits(waiter.host)) {
        at++;
        continue;
      }
      this.queue.splice(at, 1);
      waiter.admit(this.take(waiter.host));
    }
  }
}
