import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Lowest port of a cluster range. */
const LOWEST_BASE = 10_000;
/** Offsets of a node's three ports from its gRPC port: gRPC, public HTTP, peer data channel. */
export const CLUSTER_PORT_OFFSETS = { grpc: 0, http: 1000, peer: 2000 } as const;

/**
 * A base port b such that b … b+count−1, b+1000 … b+1000+count−1 and b+2000 … b+2000+count−1
 * are free on 127.0.0.1: the layout of a local cluster (gRPC ports from the base, HTTP ports
 * 1000 higher, peer data channel ports 2000 higher). The range lies
 * below the kernel's ephemeral ports: free there now is not free later, because the nodes that
 * start first open outgoing connections whose local ports could take a later node's listen port.
 */
export async function freeClusterBase(count: number): Promise<number> {
  const ephemeral = ephemeralLow();
  const highest = ephemeral - CLUSTER_PORT_OFFSETS.peer - count;
  if (highest <= LOWEST_BASE) throw new Error(`no room for ${count} nodes below the ephemeral ports (${ephemeral}…)`);
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = LOWEST_BASE + Math.floor(Math.random() * (highest - LOWEST_BASE));
    const ports = Array.from({ length: count }, (_, i) => Object.values(CLUSTER_PORT_OFFSETS).map((offset) => base + offset + i)).flat();
    if (await allFree(ports)) return base;
  }
  throw new Error(`no free range of ${count} ports found`);
}

/** Where the kernel starts handing out ports for outgoing connections. */
export function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 0) return low;
  } catch {
    // not Linux
  }
  return 32_768; // Linux's default; macOS and Windows start higher, at 49152
}

/** Whether every one of `ports` can be bound on 127.0.0.1 right now. */
export async function allFree(ports: readonly number[]): Promise<boolean> {
  return (await Promise.all(ports.map(isFree))).every(Boolean);
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
