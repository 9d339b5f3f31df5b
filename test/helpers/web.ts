import { after, before } from 'node:test';
import { request as undiciRequest } from 'undici';
import { IdSpace } from '../../src/id/id-space.js';
import type { OriginStats } from '../../src/synthetic/origin-server.js';
import { SyntheticOrigin } from '../../src/synthetic/origin-server.js';
import { nodeIds, startNodes, waitForStableRing, type ClusterOptions, type TestNode } from './node-cluster.js';
import { ProcessGroup, waitFor } from './processes.js';

export interface Fetched {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
  readonly xCache: string | null;
}

/** GET {node}/cache?url=<url>, the way clients use the API. */
export async function viaCache(node: TestNode, url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Fetched> {
  return request(`${node.http}/cache?url=${encodeURIComponent(url)}`, { headers, method });
}

/** A request to a gateway-mode node: the origin's path on the node itself. */
export async function viaGateway(node: TestNode, path: string, init: RequestInit = {}): Promise<Fetched> {
  return request(`${node.http}${path}`, init);
}

/**
 * A plain HTTP request (undici's request, not fetch: fetch adds Cache-Control: no-cache to
 * conditional requests, as the Fetch standard says, which would hide what the cache does).
 */
async function request(url: string, init: RequestInit): Promise<Fetched> {
  const res = await undiciRequest(url, {
    method: (init.method ?? 'GET') as 'GET',
    headers: init.headers as Record<string, string> | undefined,
    body: init.body as string | undefined,
  });
  const body = await res.body.text();
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  return { status: res.statusCode, headers, body, xCache: headers.get('x-cache') };
}

/** The node the oracle says owns a URL: the successor of its key among the live nodes' ids. */
export async function ownerOf(nodes: readonly TestNode[], url: string, idBits = 66): Promise<string> {
  return (await ownerFinder(nodes, idBits))(url);
}

/** Owners of many URLs from one reading of the ring (one call per node, not per URL). */
export async function ownerFinder(nodes: readonly TestNode[], idBits = 66): Promise<(url: string) => string> {
  const space = new IdSpace(idBits);
  const ring = [...(await nodeIds(nodes))].sort((a, b) => (a[1] < b[1] ? -1 : 1));
  return (url) => {
    const key = space.hash(new URL(url).href);
    return (ring.find(([, id]) => id >= key) ?? ring[0]!)[0];
  };
}

/** How often the origin was asked for a path (with its query), from its /stats endpoint. */
export async function originCount(origin: string, path: string): Promise<number> {
  const stats = (await (await fetch(`${origin}/stats`)).json()) as OriginStats;
  return stats.by_path[path] ?? 0;
}

/** POST /admin/<action> on the synthetic origin: fail, recover or reset. */
export async function originAdmin(origin: string, action: 'fail' | 'recover' | 'reset'): Promise<void> {
  const res = await fetch(`${origin}/admin/${action}`, { method: 'POST' });
  if (!res.ok) throw new Error(`origin /admin/${action}: ${res.status}`);
}

export interface WebCluster {
  readonly group: ProcessGroup;
  /** Base URL of the local origin, which every node allow-lists. */
  origin: string;
  /** The live nodes; tests that stop or add nodes keep this up to date. */
  nodes: TestNode[];
}

/**
 * A local origin and `count` nodes in front of it for the enclosing suite: started (ring stable,
 * every node READY) before its tests and stopped after them, also when a test fails.
 */
export function webClusterForSuite(count: number, options: ClusterOptions & { successors?: number }): WebCluster {
  const cluster: WebCluster = { group: new ProcessGroup(), origin: '', nodes: [] };
  const origin = new SyntheticOrigin({ port: 0 });
  before(async () => {
    cluster.origin = await origin.listen();
    cluster.nodes = await startNodes(cluster.group, count, { ...options, env: { CACHE_ORIGIN_ALLOWLIST: '127.0.0.1', ...options.env } });
    await waitForStableRing(cluster.nodes, { protocol: options.protocol, degree: options.degree ?? 8, idBits: options.idBits ?? 66, successors: options.successors ?? 8 });
    await waitFor('every node READY', async () => (await Promise.all(cluster.nodes.map((n) => fetch(`${n.http}/health`)))).every((r) => r.ok));
  });
  after(async () => {
    await cluster.group.stopAll();
    await origin.close();
  });
  return cluster;
}
