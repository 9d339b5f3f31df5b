import { sleep, type Clock } from '../runtime/clock.js';

/**
 * A start this much after its scheduled time counts as late. Timers fire at millisecond
 * granularity and a busy event loop adds a few more without the schedule being in trouble.
 */
export const LATE_TOLERANCE_MS = 10;

export interface PaceInit {
  /**
   * Requests per second, open loop: request i is due at start + i / rate, however long earlier
   * requests take. Undefined = closed loop: the next request starts as soon as a slot is free.
   */
  readonly rate?: number;
  /** At most this many requests in flight. */
  readonly concurrency: number;
  /** Stop after this many starts… */
  readonly count?: number;
  /** …or start nothing due this long after the start (both may be given; the first one ends). */
  readonly durationMs?: number;
  /** Stops starting new requests; those in flight still finish. */
  readonly signal?: AbortSignal;
}

export interface PaceReport {
  readonly started: number;
  /** Open loop: starts more than LATE_TOLERANCE_MS after their due time, whatever the reason. */
  readonly lateStarts: number;
  /** Open loop: starts that found all `concurrency` slots taken, so the target is the bottleneck. */
  readonly capWaits: number;
  /** Open loop: the largest delay of a start behind its due time, ms. */
  readonly maxLagMs: number;
}

/**
 * Calls `send(i, scheduledAt)` for i = 0, 1, … on the schedule of `init` and resolves once every
 * started call has settled. `scheduledAt` (on `clock`) is when the request was due in open loop,
 * and when it started in closed loop: latency measured from it includes any time the request
 * waited behind the schedule, so a slow target cannot hide its queue by holding the generator
 * back (no coordinated omission). Open loop never slows down silently: a request held back by
 * the concurrency cap still starts as soon as a slot frees, and is counted in the report, so
 * latency figures are never quietly taken at a lower rate than asked for. `send` should not reject; if it does, the
 * first rejection is rethrown after everything in flight has settled.
 */
export async function pace(clock: Clock, init: PaceInit, send: (index: number, scheduledAt: number) => Promise<void>): Promise<PaceReport> {
  const { rate, concurrency, count, durationMs, signal } = init;
  if (count === undefined && durationMs === undefined && signal === undefined) {
    throw new RangeError('pace() needs a count, a duration or a signal to end');
  }
  const running = new Set<Promise<void>>();
  let slotFreed: (() => void) | undefined;
  let failure: { error: unknown } | undefined;
  let lateStarts = 0;
  let capWaits = 0;
  let maxLagMs = 0;
  const start = clock.now();

  // Closed loop: a request is due when it can start, so the end is checked again after a wait.
  const over = (due: number | undefined) => signal?.aborted === true || (durationMs !== undefined && (due ?? clock.now()) - start >= durationMs);
  let index = 0;
  for (; count === undefined || index < count; index++) {
    const due = rate === undefined ? undefined : start + (index * 1000) / rate;
    if (over(due)) break;
    if (due !== undefined && due > clock.now()) {
      try {
        await sleep(clock, due - clock.now(), signal);
      } catch {
        break; // aborted while waiting: the caller asked to stop starting requests
      }
    }
    if (running.size >= concurrency) {
      if (due !== undefined) capWaits++;
      await new Promise<void>((resolve) => (slotFreed = resolve));
      if (over(due)) break;
    }
    if (due !== undefined) {
      const lag = clock.now() - due;
      maxLagMs = Math.max(maxLagMs, lag);
      if (lag > LATE_TOLERANCE_MS) lateStarts++;
    }
    const call: Promise<void> = send(index, due ?? clock.now())
      .catch((error: unknown) => void (failure ??= { error }))
      .finally(() => {
        running.delete(call);
        const wake = slotFreed;
        slotFreed = undefined;
        wake?.();
      });
    running.add(call);
  }
  await Promise.all(running);
  if (failure) throw failure.error;
  return { started: index, lateStarts, capWaits, maxLagMs };
}
