import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Protocol } from '../routing/router.js';
import { CLUSTER_PORT_OFFSETS } from './free-ports.js';
import { HAND_OFF_STDIO } from './handed-connections.js';
import { PARENT_PIPE_ENV, PARENT_PIPE_FD, PARENT_PIPE_STDIO } from './parent-pipe.js';

/**
 * The built koorde-node, also when this module runs from src/ under tsx (benchmarks): nodes
 * loaded through tsx would spend CPU and memory on transpiling that the measurements then see.
 */
const NODE_SCRIPT = fileURLToPath(new URL('../../dist/cli/koorde-node.js', import.meta.url));

export interface LocalClusterInit {
  readonly nodes: number;
  readonly protocol: Protocol;
  readonly degree: number;
  /** gRPC ports are base, base+1, …; HTTP ports base+1000, …; peer data channel ports base+2000, … */
  readonly basePort: number;
  readonly host?: string;
  /** Settings for every node (on top of this process's environment, which nodes inherit). */
  readonly env?: Readonly<Record<string, string>>;
  /** Options for the node runtime of every node, e.g. `--cpu-prof` (Node refuses it in NODE_OPTIONS). */
  readonly nodeArgs?: readonly string[];
  /** Where node logs go; a fresh temporary folder when absent. */
  readonly logDir?: string;
}

export interface ClusterNode {
  readonly index: number;
  readonly grpc: string;
  readonly http: string;
  child: ChildProcess;
  /** Set when it exited without being asked to. */
  crashed?: number | string;
}

/**
 * N koorde-node processes on loopback with static bootstrap, each logging to a file and taking
 * client connections its parent's balancer hands it (load-balancer.ts). Used by
 * `koorde-cluster up`, the benchmarks and the tests.
 */
export class LocalCluster {
  readonly nodes: ClusterNode[] = [];
  readonly logDir: string;
  private stopping = false;
  private readonly onCrash: ((node: ClusterNode) => void)[] = [];

  constructor(readonly init: LocalClusterInit) {
    this.logDir = init.logDir ?? mkdtempSync(join(tmpdir(), 'koorde-cluster-'));
  }

  get host(): string {
    return this.init.host ?? '127.0.0.1';
  }

  /** Starts every node at once (as a StatefulSet with parallel pod management does). */
  start(): void {
    for (let i = 0; i < this.init.nodes; i++) this.spawnNode(i);
  }

  /**
   * Starts the nodes one after another, each once the ring holds the ones before it: no two
   * joiners race for the same interval (balanced ids would split it, and move for minutes after).
   */
  async startOneByOne(joinTimeoutMs: number): Promise<void> {
    for (let i = 0; i < this.init.nodes; i++) {
      this.addNode();
      await this.waitReady(joinTimeoutMs);
    }
  }

  /** One more node, joining through the ones already running. */
  addNode(): ClusterNode {
    return this.spawnNode(this.nodes.length);
  }

  /** Starts a stopped node again on its own ports, so it comes back with its old id. */
  restartNode(node: ClusterNode): ClusterNode {
    if (node.child.exitCode === null && node.child.signalCode === null) throw new Error(`node ${node.index} is still running`);
    return this.spawnNode(node.index);
  }

  /** Calls `listener` when a node exits without being asked to. */
  whenCrashed(listener: (node: ClusterNode) => void): void {
    this.onCrash.push(listener);
  }

  /** Ends one node: SIGTERM leaves gracefully, SIGKILL crashes it. Resolves when it has exited. */
  async stopNode(node: ClusterNode, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (node.child.exitCode !== null || node.child.signalCode !== null) return;
    const exited = new Promise((resolve) => node.child.once('exit', resolve));
    (node as { expectedExit?: boolean }).expectedExit = true;
    node.child.kill(signal);
    await exited;
  }

  /** SIGTERM to all (each hands off and leaves), SIGKILL to any still running after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    const running = this.nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null);
    const exits = running.map((n) => new Promise((resolve) => n.child.once('exit', resolve)));
    for (const n of running) n.child.kill('SIGTERM');
    const timer = setTimeout(() => running.forEach((n) => n.child.kill('SIGKILL')), graceMs);
    await Promise.all(exits);
    clearTimeout(timer);
  }

  /** Waits until every live node answers /health with 200 and sees the whole ring. */
  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const live = this.nodes.filter((n) => n.crashed === undefined && n.child.exitCode === null);
      if (await this.consistent(live)) return;
      if (Date.now() > deadline) throw new Error(`the cluster was not ready within ${timeoutMs / 1000} s (node logs: ${this.logDir})`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  private async consistent(live: readonly ClusterNode[]): Promise<boolean> {
    try {
      const health = await Promise.all(live.map((n) => fetch(`${n.http}/health`).then((r) => r.status)));
      if (health.some((s) => s !== 200)) return false;
      const view = (await (await fetch(`${live[0]!.http}/cluster`)).json()) as { members: { addr: string; status: string }[] };
      const seen = new Set(view.members.filter((m) => m.status === 'READY').map((m) => m.addr));
      return live.every((n) => seen.has(n.grpc)) && view.members.length === live.length;
    } catch {
      return false; // not listening yet
    }
  }

  private spawnNode(index: number): ClusterNode {
    const grpcPort = this.init.basePort + index;
    const grpc = `${this.host}:${grpcPort}`;
    const http = `http://${this.host}:${grpcPort + CLUSTER_PORT_OFFSETS.http}`;
    const peers = [...this.nodes.map((n) => n.grpc), grpc];
    const env = {
      ...process.env,
      LOGGER_LEVEL: process.env.LOGGER_LEVEL ?? 'warn',
      ...this.init.env,
      DHT_PROTOCOL: this.init.protocol,
      DEBRUIJN_DEGREE: String(this.init.degree),
      [PARENT_PIPE_ENV]: String(PARENT_PIPE_FD),
      NODE_BIND: this.host,
      NODE_PORT: String(grpcPort),
      CACHE_HTTP_PORT: String(grpcPort + CLUSTER_PORT_OFFSETS.http),
      CACHE_PEER_PORT: String(grpcPort + CLUSTER_PORT_OFFSETS.peer),
      // Everyone knows every node started so far; the first one creates the ring.
      BOOTSTRAP_PEERS: index < this.init.nodes ? Array.from({ length: this.init.nodes }, (_, i) => `${this.host}:${this.init.basePort + i}`).join(',') : peers.join(','),
    };
    const child = spawn(process.execPath, [...(this.init.nodeArgs ?? []), NODE_SCRIPT], { env, stdio: [...PARENT_PIPE_STDIO, HAND_OFF_STDIO] });
    const log = createWriteStream(join(this.logDir, `node-${index}.log`));
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    const node: ClusterNode = { index, grpc, http, child };
    child.on('exit', (code, signal) => {
      if (this.stopping || (node as { expectedExit?: boolean }).expectedExit) return;
      node.crashed = code ?? signal ?? 'unknown';
      for (const listener of this.onCrash) listener(node);
    });
    this.nodes[index] = node;
    return node;
  }
}
