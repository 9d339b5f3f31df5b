import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { reservedClusterBase } from './ports.js';

/** Every child any test started, so that even a failing or interrupted run leaves none behind. */
const everyChild = new Set<ChildProcess>();
process.on('exit', () => killTrees([...everyChild].filter((child) => child.exitCode === null && child.signalCode === null)));

/**
 * SIGKILLs children and everything they started: a killed koorde-cluster cannot stop its nodes
 * itself, and they would live on as orphans.
 */
function killTrees(children: readonly ChildProcess[]): void {
  const descendants = descendantsOf(children.map((child) => child.pid!));
  for (const child of children) child.kill('SIGKILL');
  for (const pid of descendants) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Descendants of some processes, from the parent ids in /proc/<pid>/stat (read once). */
export function descendantsOf(roots: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]); // after "pid (comm) state"
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // exited while we read
    }
  }
  const found: number[] = [];
  for (let frontier = [...roots]; frontier.length > 0; ) {
    frontier = frontier.flatMap((pid) => children.get(pid) ?? []);
    found.push(...frontier);
  }
  return found;
}

export interface Managed {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code (null if killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Everything it printed so far, for assertions and for failure messages. */
  output(): string;
}

/** Children started by one test suite; `stopAll` in an `after` hook ends those still running. */
export class ProcessGroup {
  private readonly children = new Set<Managed>();

  /** `channel`: an IPC channel too, as a local cluster gives its nodes (a balancer hands them connections over it). */
  spawn(name: string, command: string, args: readonly string[], env: Record<string, string> = {}, { channel = false } = {}): Managed {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe', ...(channel ? ['ipc' as const] : [])] });
    everyChild.add(child);
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => {
        everyChild.delete(child);
        resolve(code);
      }),
    );
    const managed: Managed = { name, child, exited, output: () => output };
    this.children.add(managed);
    void exited.then(() => this.children.delete(managed));
    return managed;
  }

  /** Runs a Node script of the build (dist/) as a child. */
  node(name: string, script: string, args: readonly string[] = [], env: Record<string, string> = {}): Managed {
    return this.spawn(name, process.execPath, [script, ...args], env);
  }

  async stopAll(): Promise<void> {
    const running = [...this.children];
    killTrees(running.map((m) => m.child));
    await Promise.all(running.map((m) => m.exited));
  }
}

/**
 * `count` consecutive ports free on 127.0.0.1 right now and reserved for this test file, for child
 * processes to bind. They come from below the kernel's ephemeral range: a port the OS hands out
 * with listen(0) and that is then released can be taken again at once as the local port of an
 * outgoing connection of a node that started earlier, and the later node fails to bind.
 */
export async function freePorts(count: number): Promise<number[]> {
  const base = await reservedClusterBase(count);
  return Array.from({ length: count }, (_, i) => base + i);
}

/** Polls `probe` until it returns a value (not undefined/false); fails after `timeoutMs` naming `what`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Whether a process still runs (a zombie waiting to be reaped does not). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
