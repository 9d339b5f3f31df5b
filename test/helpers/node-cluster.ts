import { DhtClient, type RoutingTable } from '../../src/client/dht-client.js';
import { IdSpace } from '../../src/id/id-space.js';
import type { Protocol } from '../../src/routing/router.js';
import { GrpcCredentials } from '../../src/transport/grpc/tls.js';
import { freePorts, waitFor, type Managed, type ProcessGroup } from './processes.js';

export const NODE_SCRIPT = 'dist/cli/koorde-node.js';

/** Short periods, so that tests see a ring converge in seconds. */
export const FAST_RING_ENV = {
  STABILIZATION_INTERVAL: '250ms',
  DEBRUIJN_FIX_INTERVAL: '500ms',
  FINGER_FIX_INTERVAL: '500ms',
  STORAGE_FIX_INTERVAL: '1s',
  FAILURE_TIMEOUT: '500ms',
  LOGGER_LEVEL: 'warn',
  NODE_BIND: '127.0.0.1',
  // A ring whose members may move to better ids is checked against an oracle taken a moment
  // earlier; the tests of moving ask for it themselves.
  NODE_ID_REBALANCE: 'false',
};

export interface TestNode {
  readonly name: string;
  readonly addr: string;
  /** Base URL of its HTTP API. */
  readonly http: string;
  readonly env: Record<string, string>;
  proc: Managed;
}

export interface ClusterOptions {
  readonly protocol: Protocol;
  readonly degree?: number;
  readonly idBits?: number;
  readonly env?: Record<string, string>;
  /** Settings that differ per node. */
  readonly envFor?: (index: number) => Record<string, string>;
}

/** Starts `count` nodes at once on 127.0.0.1, each knowing all the others (static bootstrap). */
export async function startNodes(group: ProcessGroup, count: number, options: ClusterOptions): Promise<TestNode[]> {
  const ports = await freePorts(2 * count);
  const addrs = ports.slice(0, count).map((p) => `127.0.0.1:${p}`);
  return addrs.map((addr, i) => {
    const env = {
      ...FAST_RING_ENV,
      DHT_PROTOCOL: options.protocol,
      DEBRUIJN_DEGREE: String(options.degree ?? 8),
      DHT_ID_BITS: String(options.idBits ?? 66),
      NODE_PORT: String(ports[i]),
      CACHE_HTTP_PORT: String(ports[count + i]),
      CACHE_PEER_PORT: '0',
      BOOTSTRAP_PEERS: addrs.join(','),
      ...options.env,
      ...options.envFor?.(i),
    };
    return { name: `node-${i}`, addr, http: `http://127.0.0.1:${ports[count + i]}`, env, proc: group.node(`node-${i}`, NODE_SCRIPT, [], env) };
  });
}

/** Runs `use` with a client of the node at `addr`, closed afterwards. */
export async function withClient<T>(addr: string, use: (c: DhtClient) => Promise<T>): Promise<T> {
  const client = new DhtClient(addr, 5000);
  try {
    return await use(client);
  } finally {
    client.close();
  }
}

export async function routingTable(addr: string, credentials = GrpcCredentials.PLAINTEXT): Promise<RoutingTable> {
  const client = new DhtClient(addr, 2000, credentials);
  try {
    return await client.routingTable();
  } finally {
    client.close();
  }
}

/** Each node's id, from its own routing table (ids are SHA-1 of the address, not known upfront). */
export async function nodeIds(nodes: readonly TestNode[], credentials = GrpcCredentials.PLAINTEXT): Promise<Map<string, bigint>> {
  const tables = await Promise.all(nodes.map((n) => routingTable(n.addr, credentials)));
  return new Map(tables.map((t) => [t.self.addr, BigInt(t.self.id)]));
}

/** What every node's routing table must say in a converged ring, computed from the ids alone. */
export function expectedTables(ids: Map<string, bigint>, options: { protocol: Protocol; degree: number; idBits: number; successors: number }) {
  const space = new IdSpace(options.idBits);
  const ring = [...ids].sort((a, b) => (a[1] < b[1] ? -1 : 1)).map(([addr, id]) => ({ addr, id }));
  const n = ring.length;
  const at = (i: number) => ring[((i % n) + n) % n]!;
  const ownerIndex = (key: bigint) => {
    const i = ring.findIndex((node) => node.id >= key);
    return i < 0 ? 0 : i;
  };
  return new Map(
    ring.map((node, i) => {
      const successors = Array.from({ length: Math.min(options.successors, n - 1) }, (_, j) => at(i + 1 + j).addr);
      let pointers: string[];
      if (options.protocol === 'koorde') {
        const d = ownerIndex(space.wrap(node.id * BigInt(options.degree))) - 1;
        pointers = [...new Set(Array.from({ length: Math.min(options.degree + 1, n) }, (_, j) => at(d + j).addr))];
      } else {
        pointers = [...new Set(Array.from({ length: options.idBits }, (_, b) => at(ownerIndex(space.wrap(node.id + (1n << BigInt(b))))).addr))];
      }
      return [node.addr, { predecessor: at(i - 1).addr, successors, pointers: pointers.filter((p) => p !== node.addr).sort() }];
    }),
  );
}

/**
 * Waits until every node's routing table equals the expectation (polling, no fixed sleeps);
 * `credentials` is what a client needs to ask a ring that runs mutual TLS.
 */
export async function waitForStableRing(
  nodes: readonly TestNode[],
  options: { protocol: Protocol; degree: number; idBits: number; successors: number },
  timeoutMs = 60_000,
  credentials = GrpcCredentials.PLAINTEXT,
): Promise<void> {
  await waitFor(
    'a stable ring matching the oracle',
    async () => {
      const ids = await nodeIds(nodes, credentials);
      const expected = expectedTables(ids, options);
      const tables = await Promise.all(nodes.map((n) => routingTable(n.addr, credentials)));
      return tables.every((t) => {
        const want = expected.get(t.self.addr)!;
        return (
          t.predecessor?.addr === want.predecessor &&
          JSON.stringify(t.successors.map((s) => s.addr)) === JSON.stringify(want.successors) &&
          JSON.stringify(t.de_bruijn_list.map((s) => s.addr).sort()) === JSON.stringify(want.pointers)
        );
      });
    },
    timeoutMs,
    250,
  );
}
