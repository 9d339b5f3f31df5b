import cliProgress from 'cli-progress';

/** Live feedback while a run goes on; the run calls `update` after every answer. */
export interface Progress {
  /** `total` requests, or a run of `durationMs`. */
  start(plan: { readonly total?: number; readonly durationMs?: number }): void;
  update(state: { readonly done: number; readonly errors: number; readonly elapsedMs: number }): void;
  stop(): void;
}

/**
 * A progress bar on `stream` (stderr, so stdout stays clean for the summary), or undefined when
 * the stream is not a terminal: pipes, CI logs and files get no control characters.
 */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): Progress | undefined {
  if (!stream.isTTY) return undefined;
  const bar = new cliProgress.SingleBar(
    { stream, format: '{bar} {percentage}% | {done} requests | {errors} errors | {rps} req/s | {elapsed}s', hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  let byTime = false;
  return {
    start({ total, durationMs }) {
      byTime = total === undefined;
      // A timed run fills the bar in tenths of a second.
      bar.start(byTime ? Math.ceil((durationMs ?? 0) / 100) : total!, 0, { done: 0, errors: 0, rps: 0, elapsed: 0 });
    },
    update({ done, errors, elapsedMs }) {
      const payload = { done, errors, rps: elapsedMs > 0 ? Math.round((done * 1000) / elapsedMs) : 0, elapsed: (elapsedMs / 1000).toFixed(1) };
      bar.update(byTime ? Math.min(bar.getTotal(), Math.floor(elapsedMs / 100)) : done, payload);
    },
    stop: () => bar.stop(),
  };
}
