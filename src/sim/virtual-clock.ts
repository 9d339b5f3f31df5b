import type { Clock, Timer } from '../runtime/clock.js';

interface Event {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/**
 * Simulated time. Events fire in (time, sequence) order, and between two instants every
 * promise continuation runs, so async node code behaves as it would on a real clock —
 * only deterministically and as fast as the CPU allows.
 */
export class VirtualClock implements Clock {
  #now = 0;
  #seq = 0;
  private readonly heap: Event[] = [];

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): Timer {
    const event: Event = { at: this.#now + Math.max(0, ms), seq: this.#seq++, callback, cancelled: false };
    this.push(event);
    return { cancel: () => (event.cancelled = true) };
  }

  /** Advances time by `ms`, running everything due on the way. */
  advance(ms: number): Promise<void> {
    return this.runUntil(this.#now + ms);
  }

  async runUntil(time: number): Promise<void> {
    for (;;) {
      const next = this.heap[0];
      if (!next || next.at > time) break;
      this.#now = next.at;
      while (this.heap[0] && this.heap[0].at === this.#now) {
        const event = this.pop();
        if (!event.cancelled) event.callback();
      }
      await settle();
    }
    this.#now = Math.max(this.#now, time);
    await settle();
  }

  /** Runs the clock until `work` settles and returns its outcome; rejects if `limitMs` passes first. */
  async complete<T>(work: Promise<T>, limitMs = 600_000, stepMs = 10): Promise<T> {
    let settled = false;
    const tracked = work.finally(() => (settled = true));
    tracked.catch(() => {}); // observed below; keeps an early rejection from being reported as unhandled
    if (!(await this.runUntilTrue(() => settled, limitMs, stepMs))) {
      throw new Error(`simulated work did not finish within ${limitMs} ms of virtual time`);
    }
    return tracked;
  }

  /** Runs until `done()` holds, checking every `stepMs`; false if `limitMs` passes first. */
  async runUntilTrue(done: () => boolean, limitMs: number, stepMs = 100): Promise<boolean> {
    const end = this.#now + limitMs;
    while (!done()) {
      if (this.#now >= end) return false;
      await this.runUntil(Math.min(end, this.#now + stepMs));
    }
    return true;
  }

  private push(event: Event): void {
    const heap = this.heap;
    heap.push(event);
    let at = heap.length - 1;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!before(heap[at]!, heap[parent]!)) break;
      [heap[at], heap[parent]] = [heap[parent]!, heap[at]!];
      at = parent;
    }
  }

  private pop(): Event {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let at = 0;
      for (;;) {
        const left = 2 * at + 1;
        const right = left + 1;
        let best = at;
        if (left < heap.length && before(heap[left]!, heap[best]!)) best = left;
        if (right < heap.length && before(heap[right]!, heap[best]!)) best = right;
        if (best === at) break;
        [heap[at], heap[best]] = [heap[best]!, heap[at]!];
        at = best;
      }
    }
    return top;
  }
}

function before(a: Event, b: Event): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** Lets every pending promise continuation run: setImmediate fires only after the microtask queue is empty. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
