import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listenHttp } from '../http/listen.js';

/** How often backends are health-checked, like an NLB target group's interval. */
const HEALTH_INTERVAL_MS = 1000;
const HEALTH_TIMEOUT_MS = 800;

interface Backend {
  readonly url: URL;
  healthy: boolean;
}

/**
 * A round-robin HTTP load balancer for a local cluster: it skips backends whose /health is not
 * 200 (as the AWS NLB does with its health checks) and retries an idempotent request on the
 * next backend when one refuses the connection.
 */
export class LoadBalancer {
  readonly server: Server;
  private readonly backends: Backend[];
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  /** Health checks on their own connections: queued behind busy traffic they would time out and take healthy nodes out. */
  private readonly probeAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  private next = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(backends: readonly string[]) {
    this.backends = backends.map((b) => ({ url: new URL(b), healthy: false }));
    this.server = createServer((req, res) => this.forward(req, res, 0));
    this.server.keepAliveTimeout = 65_000;
  }

  async listen(port: number, host = '127.0.0.1'): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), HEALTH_INTERVAL_MS);
    await listenHttp(this.server, port, host);
  }

  add(backend: string): void {
    this.backends.push({ url: new URL(backend), healthy: false });
  }

  healthyCount(): number {
    return this.backends.filter((b) => b.healthy).length;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.agent.destroy();
    this.probeAgent.destroy();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private pick(): Backend | undefined {
    for (let i = 0; i < this.backends.length; i++) {
      const backend = this.backends[this.next++ % this.backends.length]!;
      if (backend.healthy) return backend;
    }
    return undefined;
  }

  private forward(req: IncomingMessage, res: ServerResponse, attempt: number): void {
    const backend = this.pick();
    if (!backend) {
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"no_backend","message":"no healthy node behind the load balancer"}\n');
      return;
    }
    const upstream = request(
      { host: backend.url.hostname, port: backend.url.port, method: req.method, path: req.url, headers: req.headers, agent: this.agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      const idempotent = req.method === 'GET' || req.method === 'HEAD';
      if (err.code === 'ECONNREFUSED' && idempotent && !res.headersSent && attempt < this.backends.length) {
        backend.healthy = false; // it died between two health checks
        this.forward(req, res, attempt + 1);
      } else if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'application/json' }).end(`{"error":"bad_gateway","message":${JSON.stringify(err.message)}}\n`);
      } else {
        res.destroy(err);
      }
    });
    req.pipe(upstream);
  }

  /** Health-checks every backend now (also done every second). */
  async refresh(): Promise<void> {
    await Promise.all(this.backends.map(async (b) => (b.healthy = await this.check(b))));
  }

  private check(backend: Backend): Promise<boolean> {
    return new Promise((resolve) => {
      const probe = request({ host: backend.url.hostname, port: backend.url.port, path: '/health', timeout: HEALTH_TIMEOUT_MS, agent: this.probeAgent }, (answer) => {
        answer.resume();
        resolve(answer.statusCode === 200);
      });
      probe.on('timeout', () => probe.destroy());
      probe.on('error', () => resolve(false));
      probe.end();
    });
  }
}
