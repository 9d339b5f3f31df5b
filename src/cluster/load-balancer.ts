import { Agent, request } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';

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

interface Backend {
  readonly host: string;
  readonly port: number;
  healthy: boolean;
}

/**
 * A round-robin TCP (layer 4) load balancer for a local cluster, as the AWS NLB is: each client
 * connection goes whole to one healthy node and bytes are relayed untouched, so the balancer costs
 * a socket pair per connection and no HTTP parsing per request. Backends whose GET /health is not
 * 200 leave the rotation until it is 200 again. A connection a node refuses or resets before the
 * balancer relayed any byte to it goes to the next node, so a node that died between two health
 * checks costs only the requests that were in flight on it.
 */
export class LoadBalancer {
  readonly server: Server;
  private readonly backends: Backend[];
  /** Health checks on their own connections: queued behind busy traffic they would time out and take healthy nodes out. */
  private readonly probeAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  private readonly clients = new Set<Socket>();
  private next = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(backends: readonly string[]) {
    this.backends = backends.map(backendOf);
    this.server = createServer((client) => this.accept(client));
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

  add(backend: string): void {
    this.backends.push(backendOf(backend));
  }

  healthyCount(): number {
    return this.backends.filter((b) => b.healthy).length;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.probeAgent.destroy();
    for (const client of this.clients) client.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Health-checks every backend now (also done every second). */
  async refresh(): Promise<void> {
    await Promise.all(this.backends.map(async (b) => (b.healthy = await this.check(b))));
  }

  private pick(): Backend | undefined {
    for (let i = 0; i < this.backends.length; i++) {
      const backend = this.backends[this.next++ % this.backends.length]!;
      if (backend.healthy) return backend;
    }
    return undefined;
  }

  private accept(client: Socket): void {
    this.clients.add(client);
    client.setNoDelay(true);
    client.on('close', () => this.clients.delete(client));
    client.on('error', () => client.destroy());
    // Bytes the client sent before a node took the connection; replayed on the next node when one fails.
    const pending: Buffer[] = [];
    const hold = (chunk: Buffer) => void pending.push(chunk);
    client.on('data', hold);
    client.pause(); // resumed once a node is connected (or to read the request a 503 answers)
    this.relay(client, pending, hold, 0);
  }

  private relay(client: Socket, pending: Buffer[], hold: (chunk: Buffer) => void, attempt: number): void {
    if (client.destroyed) return;
    const backend = attempt < this.backends.length ? this.pick() : undefined;
    if (!backend) {
      this.refuse(client, pending, hold);
      return;
    }
    const upstream = connect({ host: backend.host, port: backend.port, noDelay: true });
    let relayed = false; // a byte went to the node: from then on the connection is the node's
    upstream.once('connect', () => {
      client.off('data', hold);
      if (pending.length) {
        relayed = true;
        upstream.write(Buffer.concat(pending.splice(0)));
      }
      client.on('data', () => void (relayed = true));
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      const failedBeforeUse = !relayed && (err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET');
      if (failedBeforeUse) {
        backend.healthy = false; // it died between two health checks; the next good check brings it back
        client.unpipe(upstream);
        client.pause();
        client.removeAllListeners('data');
        client.on('data', hold);
        upstream.unpipe(client);
        this.relay(client, pending, hold, attempt + 1);
      } else {
        client.destroy();
      }
    });
    // The node closed its side (e.g. a keep-alive timeout): pipe() ends the client's side with it.
    upstream.on('close', () => {
      if (relayed) client.destroy();
    });
    client.once('close', () => upstream.destroy());
  }

  /** No node can take the connection: answer the client's first request with a 503 and close. */
  private refuse(client: Socket, pending: Buffer[], hold: (chunk: Buffer) => void): void {
    const answer = () => client.end(NO_BACKEND_RESPONSE);
    if (pending.length) {
      answer();
      return;
    }
    client.off('data', hold);
    client.once('data', answer);
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

function backendOf(base: string): Backend {
  const url = new URL(base);
  return { host: url.hostname, port: Number(url.port), healthy: false };
}
