import { cpus, loadavg } from 'node:os';

/** What a figure ran on, for the report: the machine is shared, so its load goes with the figures. */
export interface MachineFacts {
  readonly cpu: string;
  readonly cpus: number;
  readonly node: string;
  /** 1-minute load average when the experiment started and when it ended. */
  readonly load_average_1m: readonly [number, number];
}

/** Runs `experiment` and returns its result with the machine it ran on. */
export async function onMachine<T>(experiment: () => Promise<T>): Promise<{ machine: MachineFacts; result: T }> {
  const load = () => Number(loadavg()[0]!.toFixed(1));
  const before = load();
  const result = await experiment();
  return { machine: { cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, node: process.version, load_average_1m: [before, load()] }, result };
}
