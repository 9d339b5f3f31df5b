import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { PARENT_PIPE_ENV, PARENT_PIPE_FD, PARENT_PIPE_STDIO } from '../../src/cluster/parent-pipe.js';

/** Whether processes can be pinned to CPUs: taskset exists and there are two CPUs to keep apart. */
export const CAN_PIN = availableParallelism() >= 2 && spawnSync('taskset', ['--version']).status === 0;

/** A benchmark's helper process: it exits when the benchmark does, however that ends. */
export interface BenchChild {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the first match of `pattern` in its output; rejects if it exits first. */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>;
  /** SIGTERM, then resolves once it exited. */
  stop(): Promise<void>;
  /** Resolves with everything it printed once it exited by itself. */
  readonly done: Promise<string>;
}

/**
 * Starts `command` pinned to `cpu` when pinning is possible. Node children get the parent pipe
 * (see src/cluster/parent-pipe.ts); other programs (wrk) end on their own.
 */
export function spawnBenchChild(command: string, args: readonly string[], init: { cpu?: number; env?: Record<string, string> } = {}): BenchChild {
  const pinned = init.cpu !== undefined && CAN_PIN;
  const child = spawn(pinned ? 'taskset' : command, pinned ? ['-c', String(init.cpu), command, ...args] : [...args], {
    env: { ...process.env, ...init.env, [PARENT_PIPE_ENV]: String(PARENT_PIPE_FD) },
    stdio: [...PARENT_PIPE_STDIO],
  });
  let output = '';
  const listeners = new Set<() => void>();
  const onOutput = (d: Buffer) => {
    output += d.toString();
    for (const listener of listeners) listener();
  };
  child.stdout!.on('data', onOutput);
  child.stderr!.on('data', onOutput);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const done = exited.then(() => output);
  return {
    child,
    output: () => output,
    done,
    waitFor(pattern) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = output.match(pattern);
          if (match) {
            listeners.delete(check);
            resolve(match);
          }
        };
        listeners.add(check);
        check();
        void exited.then(() => reject(new Error(`${command} exited before printing ${pattern}: ${output}`)));
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Moves a running process and all its threads to one CPU (no-op where pinning is impossible). */
export function pinProcess(pid: number, cpu: number): void {
  if (CAN_PIN) spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
}

/** Median, lowest and highest of some runs. */
export function spread(values: readonly number[]): { median: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}
