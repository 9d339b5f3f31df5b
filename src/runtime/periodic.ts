import { whenAborted } from './abort.js';
import type { Clock, Timer } from './clock.js';
import type { Rng } from './rng.js';

/**
 * Runs `task` every `intervalMs` (±10 % jitter, so thousands of nodes do not act in lockstep)
 * until `signal` aborts. A round starts only after the previous one finished, so a slow round
 * never piles up behind itself.
 */
export function repeat(
  clock: Clock,
  rng: Rng,
  intervalMs: number,
  task: () => Promise<void>,
  signal: AbortSignal,
  onError: (err: unknown) => void,
): void {
  let timer: Timer | undefined;
  const schedule = () => {
    if (signal.aborted) return;
    timer = clock.setTimeout(run, intervalMs * (0.9 + 0.2 * rng.next()));
  };
  const run = () => {
    task().catch((err: unknown) => signal.aborted || onError(err)).finally(schedule);
  };
  whenAborted(signal, () => timer?.cancel()); // for the node's lifetime: never removed
  schedule();
}
