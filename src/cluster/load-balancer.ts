import type { ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { handConnection } from './handed-connections.js';

/** How often backends are health-checked, like an NLB target group's interval. */
const HEALTH_INTERVAL_MS = 1000;
const HEALTH_TIMEOUT_MS = 800;

/**
 * What a client gets when no node is healthy: a whole HTTP answer, so curl and the workload
 * generator show the reason instead of a bare closed connection. The balancer sends it after the
 * client's first bytes and closes the connection.
 */
const NO_BACKEND_BODY = '{"error":"no_backend","message":"no healthy node behind the load balancer"}\n';
export const NO_BACKEND_RESPONSE = [
  'HTTP/1.1 503 Service Unavailable',
  'content-type: application/json',
  `content-length: ${Buffer.byteLength(NO_BACKEND_BODY)}`,
  'connection: close',
  '',
  NO_BACKEND_BODY,
].join('\r\n');

/** A node the balancer may hand connections to: a child process with the hand-off channel, and its HTTP base URL (health checks). */
export interface BalancedNode {
  readonly http: string;
  readonly child: ChildProcess;
}

interface Backend {
  readonly node: BalancedNode;
  readonly host: string;
  readonly port: number;
  healthy: boolean;
}

/**
 * A round-robin TCP (layer 4) load balancer for a local cluster, as the AWS NLB is: each client
 * connection goes whole to one healthy node. The balancer accepts it without reading from it and
 * hands the socket itself to the node process (handed-connections.ts), so the node serves it as
 * one of its own and no process relays its bytes: the balancer costs a hand-off per connection and
 * nothing per request. Relaying them took 60–75 µs of CPU per request and two more process
 * wake-ups on the way of each (docs/benchmarks/cluster-cost.md). Nodes whose GET /health is not
 * 200 leave the rotation until it is 200 again; a node that cannot take a connection (it died
 * between two health checks) leaves it at once and the connection goes to the next, so a dead
 * node costs only the requests that were in flight on it.
 */
export class LoadBalancer {
  readonly server: Server;
  /** Health checks on their own connections: queued behind busy traffic they would time out and take healthy nodes out. */
  private readonly probeAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  /** By node process. */
  readonly #backends = new Map<ChildProcess, Backend>();

  /** `nodes` is read at each connection and health check: a node restarted in place is a new one. */
  constructor(private readonly nodes: () => readonly BalancedNode[]) {
    this.server = createServer({ pauseOnConnect: true }, (client) => void this.accept(client));
  }

  async listen(port: number, host = '127.0.0.1'): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), HEALTH_INTERVAL_MS);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      // A deep accept queue: a benchmark opening hundreds of connections at once must not see refusals.
      this.server.listen({ port, host, backlog: 4096 }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  healthyCount(): number {
    return this.backends().filter((b) => b.healthy).length;
  }

  /**
   * Stops accepting connections. Those handed over are the nodes' own; server.close()'s callback
   * is not awaited, as Node's would wait for ever once a node that was handed some has died.
   */
  close(): void {
    clearInterval(this.timer);
    this.probeAgent.destroy();
    this.server.close();
  }

  /** Health-checks every node now (also done every second). */
  async refresh(): Promise<void> {
    await Promise.all(this.backends().map(async (b) => (b.healthy = await this.check(b))));
  }

  /** The current nodes' backends; a node seen for the first time (a new process) is out of rotation until checked. */
  private backends(): Backend[] {
    const nodes = this.nodes();
    const children = new Set(nodes.map((node) => node.child));
    for (const child of this.#backends.keys()) if (!children.has(child)) this.#backends.delete(child);
    return nodes.map((node) => {
      let backend = this.#backends.get(node.child);
      if (!backend) this.#backends.set(node.child, (backend = { node, ...hostAndPort(node.http), healthy: false }));
      return backend;
    });
  }

  private async accept(client: Socket): Promise<void> {
    client.on('error', () => client.destroy());
    const backends = this.backends();
    for (let tried = 0; tried < backends.length; tried++) {
      const backend = backends[this.next++ % backends.length]!;
      if (!backend.healthy) continue;
      if (await handConnection(backend.node.child, client)) return;
      backend.healthy = false; // it died between two health checks; the next good check brings it back
    }
    this.refuse(client);
  }

  /** No node can take the connection: answer the client's first request with a 503 and close. */
  private refuse(client: Socket): void {
    client.once('data', () => client.end(NO_BACKEND_RESPONSE));
    client.resume();
  }

  private check(backend: Backend): Promise<boolean> {
    return new Promise((resolve) => {
      const probe = request({ host: backend.host, port: backend.port, path: '/health', timeout: HEALTH_TIMEOUT_MS, agent: this.probeAgent }, (answer) => {
        answer.resume();
        resolve(answer.statusCode === 200);
      });
      probe.on('timeout', () => probe.destroy());
      probe.on('error', () => resolve(false));
      probe.end();
    });
  }
}

function hostAndPort(base: string): { host: string; port: number } {
  const url = new URL(base);
  return { host: url.hostname, port: Number(url.port) };
}
