import { freeClusterBase } from '../../src/cluster/free-ports.js';
import { LoadBalancer } from '../../src/cluster/load-balancer.js';
import { LocalCluster, type LocalClusterInit } from '../../src/cluster/local-cluster.js';
import { SETTINGS } from '../../src/config/settings.js';
import { spawnBenchChild } from './child.js';

export interface BenchCluster {
  readonly cluster: LocalCluster;
  /** Every node's HTTP base URL. */
  readonly targets: string[];
  /** The local origin's base URL (allow-listed). */
  readonly origin: string;
  /** The round-robin balancer in front of the nodes, when asked for. */
  readonly balancer?: string;
  /** Process ids of the origin and the balancer (this process), for CPU accounting. */
  readonly pids: { readonly origin: number; readonly balancer?: number };
}

export interface BenchClusterInit extends Omit<LocalClusterInit, 'basePort'> {
  readonly balancer?: boolean;
  /** `fast` upkeep (4–10× production) settles small test rings in seconds; measurements use `production`. */
  readonly upkeep?: 'production' | 'fast';
  /** Origin latency per request, ms. */
  readonly originLatencyMs?: number;
}

const FAST_POINTER_FIX_MS = 500;
const FAST_UPKEEP = { STABILIZATION_INTERVAL: '250ms', FINGER_FIX_INTERVAL: `${FAST_POINTER_FIX_MS}ms`, DEBRUIJN_FIX_INTERVAL: `${FAST_POINTER_FIX_MS}ms` };

/**
 * Starts a local origin and a cluster in front of it, runs `body`, and always tears both down.
 * The origin runs as a process of its own. The balancer runs in this process, the nodes' parent,
 * which it must be to hand them connections: it accepts each connection and hands it whole to a
 * node, so nothing of a request passes through the benchmark's event loop.
 */
export async function withCluster<T>(init: BenchClusterInit, body: (c: BenchCluster) => Promise<T>): Promise<T> {
  const origin = spawnBenchChild(process.execPath, ['dist/cli/koorde-origin.js', '--port', '0', '--latency-ms', String(init.originLatencyMs ?? 0)]);
  const originUrl = (await origin.waitFor(/listening on (\S+)/))[1]!;
  const cluster = new LocalCluster({
    ...init,
    basePort: await freeClusterBase(init.nodes + 4),
    // Production upkeep periods: faster upkeep would settle a new ring sooner, but its traffic
    // (Chord's far more than Koorde's) would compete with the measured requests for the CPU.
    env: { LOGGER_LEVEL: 'warn', CACHE_ORIGIN_ALLOWLIST: '127.0.0.1', ...(init.upkeep === 'fast' ? FAST_UPKEEP : {}), ...init.env },
  });
  const targets = Array.from({ length: init.nodes }, (_, i) => `http://127.0.0.1:${cluster.init.basePort + 1000 + i}`);
  const balancer = init.balancer ? new LoadBalancer(() => cluster.nodes) : undefined;
  try {
    // One after another: a node leaving to move mid-measurement would fail the requests it was serving.
    await cluster.startOneByOne(60_000);
    // waitReady accepts the nodes that live; a measurement needs every one of them.
    const crashed = cluster.nodes.filter((n) => n.crashed !== undefined);
    if (crashed.length) throw new Error(`${crashed.length} of ${init.nodes} nodes exited while starting (logs: ${cluster.logDir})`);
    // Finger and de Bruijn refreshes share one production default; a little over one period apart.
    const pointerFixMs = init.upkeep === 'fast' ? FAST_POINTER_FIX_MS : SETTINGS.deBruijnFixIntervalMs.defaultValue;
    await routingSettled(targets[0]!, 1.1 * pointerFixMs);
    let balancerUrl: string | undefined;
    if (balancer) {
      const port = cluster.init.basePort + init.nodes + 2; // inside the checked free range
      // Its first health check runs as it starts, with every node ready.
      await balancer.listen(port);
      balancerUrl = `http://127.0.0.1:${port}`;
    }
    return await body({ cluster, targets, origin: originUrl, balancer: balancerUrl, pids: { origin: origin.child.pid!, balancer: balancer && process.pid } });
  } finally {
    balancer?.close();
    await cluster.stop();
    await origin.stop();
  }
}

/**
 * Ready is not settled: fingers and de Bruijn lists of early nodes still point as the ring was
 * before the last joins. Waits until two views of the ring, a pointer refresh period apart, show
 * the same pointers.
 */
async function routingSettled(node: string, refreshMs: number, limitMs = 120_000): Promise<void> {
  const snapshot = async () => {
    const view = (await (await fetch(`${node}/cluster`)).json()) as { members: { addr: string; successors: string[]; pointers: string[] }[] };
    return JSON.stringify(view.members.map((m) => [m.addr, m.successors, m.pointers]));
  };
  const deadline = Date.now() + limitMs;
  let previous = await snapshot();
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, refreshMs));
    const current = await snapshot();
    if (current === previous) return;
    previous = current;
  }
  throw new Error(`the ring's pointers did not settle within ${limitMs / 1000} s`);
}

/** Sum of a numeric field of every node's /metrics (e.g. m => m.lookups.count). */
export async function sumMetrics(targets: readonly string[], pick: (m: any) => number): Promise<number> {
  const all = await Promise.all(targets.map(async (t) => (await (await fetch(`${t}/metrics`)).json()) as unknown));
  return all.reduce<number>((sum, m) => sum + pick(m), 0);
}
