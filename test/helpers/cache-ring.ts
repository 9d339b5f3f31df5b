import { CacheService, type ServedResponse } from '../../src/cache/cache-service.js';
import type { CachePeers } from '../../src/cache/cache-peers.js';
import { HotKeys } from '../../src/cache/hot-keys.js';
import { MemoryCachePeers } from '../../src/cache/memory-cache-peers.js';
import { ObjectStore } from '../../src/cache/object-store.js';
import { OwnerCache, type CacheRequest, type OriginFetcher } from '../../src/cache/owner-cache.js';
import { CacheOwnerEndpoint, type OwnerEndpoint } from '../../src/cache/owner-endpoint.js';
import type { OwnerLocator, OwnerRoute } from '../../src/cache/owner-locator.js';
import { IdSpace } from '../../src/id/id-space.js';
import { handOffToSuccessor, moveToNewPredecessor, type RangeView } from '../../src/ring/range-hand-off.js';
import type { NodeRef } from '../../src/id/node-ref.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';

/** An origin in memory that counts its fetches per URL; bodies say which URL they are. */
export class CountingOrigin implements OriginFetcher {
  readonly fetches = new Map<string, number>();

  async fetch(req: { url: URL }) {
    this.fetches.set(req.url.href, (this.fetches.get(req.url.href) ?? 0) + 1);
    // ?size=N asks for a body of N bytes.
    const size = Number(req.url.searchParams.get('size') ?? 0);
    const body = size > 0 ? Buffer.alloc(size, `${req.url.href}|`) : Buffer.from(`body of ${req.url.href}`);
    return { status: 200, headers: { 'cache-control': 'max-age=60', 'content-type': 'text/plain' }, body, url: req.url.href };
  }

  count(url: string): number {
    return this.fetches.get(url) ?? 0;
  }
}

export interface RingNode {
  readonly ref: NodeRef;
  readonly owner: OwnerCache;
  readonly service: CacheService;
  readonly endpoint: OwnerEndpoint;
}

/**
 * The cache of several nodes in one process: a ring that the test edits by hand (join, leave,
 * crash) stands in for the DHT, MemoryCachePeers for the network, one origin for the web. It
 * runs the real CacheService, OwnerCache and owner endpoint.
 */
export class CacheRing {
  readonly ids = new IdSpace(16);
  readonly clock = new VirtualClock();
  readonly origin = new CountingOrigin();
  readonly peers = new MemoryCachePeers();
  readonly nodes = new Map<string, RingNode>();
  /** DHT lookups made by entry nodes (route cache misses). */
  lookups = 0;
  private members: NodeRef[] = [];

  constructor(private readonly init: { readonly hotspotThreshold?: number; readonly peers?: (memory: MemoryCachePeers) => CachePeers } = {}) {}

  /** A node with this id joins: it is in the ring (and reachable) from now on. */
  join(id: bigint, addr = `node-${id}:4000`): RingNode {
    const ref = { id, addr };
    const locator = this.locator(ref);
    const owner = new OwnerCache(
      new ObjectStore(1 << 20, this.ids),
      this.origin,
      new HotKeys(this.clock, this.init.hotspotThreshold ?? 1000, 0.65),
      { defaultTtlSeconds: 3600, storeSetCookie: false },
      new AbortController().signal,
    );
    const peers = this.init.peers?.(this.peers) ?? this.peers;
    const service = new CacheService({ locator, owner, peers, clock: this.clock, logger: silentLogger }, { routeCache: true, hotCopyBytes: 1 << 20 });
    const node = { ref, owner, service, endpoint: new CacheOwnerEndpoint(owner, locator) };
    this.members = [...this.members, ref].sort((a, b) => (a.id < b.id ? -1 : 1));
    this.nodes.set(ref.addr, node);
    this.peers.add(ref.addr, node.endpoint);
    return node;
  }

  /** The node is gone without a word: the ring still lists it, calls to it fail. */
  crash(node: RingNode): void {
    this.peers.remove(node.ref.addr);
  }

  /** The ring forgets the node (after a leave, or once upkeep noticed a crash). */
  drop(node: RingNode): void {
    this.members = this.members.filter((m) => m.addr !== node.ref.addr);
    this.peers.remove(node.ref.addr);
  }

  predecessorOf(node: RingNode): NodeRef {
    const at = this.members.findIndex((m) => m.addr === node.ref.addr);
    return this.members[(at - 1 + this.members.length) % this.members.length]!;
  }

  /** The node that owns `key` now: the first one at or after it, clockwise. */
  ownerOf(key: bigint): NodeRef {
    return this.members.find((m) => m.id >= key) ?? this.members[0]!;
  }

  /** What the node's DHT does when a node joins just before it: hands over the range it took. */
  handToNewPredecessor(node: RingNode, previous: NodeRef, joined: NodeRef): Promise<number> {
    return moveToNewPredecessor(this.viewOf(node), node.service.range, previous, joined);
  }

  /** What the node's DHT does first when it leaves: hands its range to its successor. */
  handOff(node: RingNode): Promise<number> {
    return handOffToSuccessor(this.viewOf(node), node.service.range);
  }

  request(node: RingNode, url: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET'): Promise<Seen> {
    const req: CacheRequest = { url, method, headers };
    return node.service.handle(req).then(seen);
  }

  private successorsFrom(owner: NodeRef): NodeRef[] {
    const at = this.members.findIndex((m) => m.addr === owner.addr);
    return this.members.map((_, i) => this.members[(at + i) % this.members.length]!);
  }

  private viewOf(node: RingNode): RangeView {
    const alone = () => this.members.length < 2;
    return {
      self: node.ref,
      ids: this.ids,
      predecessor: () => (alone() ? undefined : this.predecessorOf(node)),
      successor: () => (alone() ? undefined : this.successorsFrom(node.ref)[1]),
    };
  }

  private locator(self: NodeRef): OwnerLocator {
    const ring = this;
    return {
      self,
      ids: this.ids,
      status: () => 'READY',
      keyOf: (url) => this.ids.hash(url),
      owns: (key) => this.ownerOf(key).addr === self.addr,
      covers: async (key) => this.successorsFrom(this.ownerOf(key)).slice(0, 2).some((n) => n.addr === self.addr),
      async locate(key): Promise<OwnerRoute> {
        ring.lookups++;
        const owner = ring.ownerOf(key);
        const successors = ring.successorsFrom(owner);
        return { owner, predecessor: successors[successors.length - 1]!, successors, hops: 1, path: [] };
      },
      ping: async () => 0,
    };
  }
}

/** What a client sees of an answer. */
export interface Seen {
  readonly status: number;
  readonly xCache: string;
  readonly owner: string;
  readonly hops: string;
  readonly body: string;
}

async function seen(served: ServedResponse): Promise<Seen> {
  let body = Buffer.isBuffer(served.body) ? served.body : Buffer.alloc(0);
  if (!Buffer.isBuffer(served.body)) for await (const chunk of served.body) body = Buffer.concat([body, chunk]);
  return {
    status: served.status,
    xCache: String(served.headers['x-cache']),
    owner: String(served.headers['x-responsible-node']),
    hops: String(served.headers['x-hops']),
    body: body.toString(),
  };
}
