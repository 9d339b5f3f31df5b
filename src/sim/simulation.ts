import { IdSpace } from '../id/id-space.js';
import { sameNode, type NodeRef } from '../id/node-ref.js';
import { balancedId, freeBalancedId, MAX_MOVES, ordinalId, worthMoving, type IdStrategy, type RingSample } from '../id/placement.js';
import { isRetryable } from '../errors.js';
import { DhtNode, placementChecksSpanMs, type DhtNodeInit, type DisplacedReason } from '../node/dht-node.js';
import { silentLogger } from '../runtime/logger.js';
import { withDeadline } from '../transport/deadline.js';
import { sleep } from '../runtime/clock.js';
import { seededRng, type Rng } from '../runtime/rng.js';
import { MemoryNetwork } from '../transport/memory/memory-network.js';
import { Oracle } from './oracle.js';
import { VirtualClock } from './virtual-clock.js';

/** Tries of a join (through a random member each) before the simulated node gives up. */
const JOIN_ATTEMPTS = 5;

/** Every node's settings (as in production), and the simulated network's. */
export interface SimulationInit extends Omit<DhtNodeInit, 'self'> {
  /** hash: random ids (as SHA-1 of addresses would be); balanced: joiners sample the ring; ordinal: the i-th node spawned takes ordinal i. */
  readonly idStrategy: IdStrategy;
  /** One-way latency of each link, fixed per link, drawn uniformly from this range. */
  readonly latencyMs: { readonly min: number; readonly max: number };
  readonly lossRate: number;
  readonly seed: number;
}

/** The production defaults (docs/api.md, Settings), on a network of 5–50 ms links. */
export const SIMULATION_DEFAULTS: SimulationInit = {
  protocol: 'koorde',
  degree: 8,
  idBits: 66,
  successorListSize: 8,
  stabilizeIntervalMs: 2000,
  fixIntervalMs: 5000,
  failureTimeoutMs: 1000,
  replicationFactor: 3,
  storageFixIntervalMs: 20_000,
  // Random ids keep rings built by tests and benchmarks comparable with earlier runs; koorde-sim defaults to balanced.
  idStrategy: 'hash',
  latencyMs: { min: 5, max: 50 },
  lossRate: 0,
  seed: 1,
};

/**
 * Many real DhtNodes in one process over a MemoryNetwork and a VirtualClock: deterministic for
 * a seed, with an oracle that knows the true ring at any moment.
 */
export class Simulation {
  readonly init: SimulationInit;
  readonly clock = new VirtualClock();
  readonly rng: Rng;
  readonly network: MemoryNetwork;
  private readonly live = new Map<string, DhtNode>();
  private readonly usedIds = new Set<bigint>();
  #spawned = 0;
  #restarts = 0;
  #moves = 0;
  #oracle: Oracle | undefined;

  constructor(init: Partial<SimulationInit> = {}) {
    this.init = { ...SIMULATION_DEFAULTS, ...init };
    this.rng = seededRng(this.init.seed);
    const { min, max } = this.init.latencyMs;
    const seed = this.init.seed;
    this.network = new MemoryNetwork(this.clock, this.rng, {
      ids: new IdSpace(this.init.idBits),
      latencyMs: (from, to) => min + (max - min) * linkHash(from, to, seed),
      lossRate: this.init.lossRate,
    });
  }

  get nodes(): DhtNode[] {
    return [...this.live.values()];
  }

  /** The live node at `addr`, if any. */
  node(addr: string): DhtNode | undefined {
    return this.live.get(addr);
  }

  /** The truth about the current membership (cached until it changes). */
  oracle(): Oracle {
    this.#oracle ??= new Oracle(
      this.nodes.map((n) => n.self),
      this.init.successorListSize,
    );
    return this.#oracle;
  }

  /** A fresh random id no live or past node used. */
  randomId(): bigint {
    for (;;) {
      const id = this.rng.bits(this.init.idBits);
      if (!this.usedIds.has(id)) return id;
    }
  }

  /**
   * Creates a node and connects it to the network, without joining any ring. Without an `id`,
   * an ordinal node takes its ordinal's place and any other a random id (a balanced joiner's id
   * is picked before it is spawned, see join).
   */
  /** `moves`: for a node whose id the balanced strategy picked, how often it moved already (see joinRing); others never move. */
  spawn(id?: bigint, ordinal = this.#spawned++, moves?: number): DhtNode {
    const self = { id: id ?? (this.init.idStrategy === 'ordinal' ? ordinalId(ordinal, new IdSpace(this.init.idBits)) : this.randomId()), addr: simAddr(ordinal) };
    const { addr } = self;
    this.usedIds.add(self.id);
    const node: DhtNode = new DhtNode(
      {
        transport: this.network.transport(addr),
        clock: this.clock,
        rng: this.rng,
        logger: silentLogger,
        onDisplaced: (reason) => this.startOver(node, reason, moves ?? 0),
        // As a static BOOTSTRAP_PEERS list of every member would.
        contacts: async () => this.nodes.map((n) => n.self.addr),
      },
      this.nodeInit(self, moves),
    );
    void this.network.listener(addr).listen(node.handlers);
    this.live.set(addr, node);
    this.#oracle = undefined;
    return node;
  }

  /** Nodes that left because a twin took their id, and joined again as new nodes. */
  get restarts(): number {
    return this.#restarts;
  }

  /** Nodes that left a sliver of the ring after racing joins, and joined again at a balanced id. */
  get moves(): number {
    return this.#moves;
  }

  /** The first node: a ring of one. */
  create(id?: bigint): DhtNode {
    const node = this.spawn(id);
    node.create();
    return node;
  }

  /**
   * A new node joins through a random live member (or `via`). Like a real node's bootstrap, it
   * tries another member when the join fails because the ring changed under it. Without an `id`
   * a balanced node picks one through that member first, as a real node does.
   */
  async join(id?: bigint, via?: DhtNode): Promise<DhtNode> {
    return this.clock.complete(this.joinRing(id, via));
  }

  /** `count` new nodes join at the same moment, each through a random member of the ring as it is (`ids` forces their ids). */
  async joinAll(count: number, ids: readonly bigint[] = []): Promise<DhtNode[]> {
    return this.clock.complete(Promise.all(Array.from({ length: count }, (_, i) => this.joinRing(ids[i]))));
  }

  /** `moves`: how often this node already moved to rebalance (it stops checking after MAX_MOVES). */
  private async joinRing(id: bigint | undefined, via?: DhtNode, moves = 0): Promise<DhtNode> {
    const ordinal = this.#spawned++;
    let node: DhtNode | undefined;
    for (let attempt = 1; ; attempt++) {
      const members = this.nodes.filter((n) => n !== node && n.status !== 'NOT_INITIALIZED' && n.status !== 'LEAVING');
      const bootstrap = via ?? members[this.rng.int(members.length)];
      if (!bootstrap) throw new Error('join needs a live ring member');
      try {
        // Only a picked id is the strategy's to move: a forced one stays, as NODE_ID does.
        node ??= this.spawn(id ?? (await this.pickId(ordinal, bootstrap)), ordinal, id === undefined ? moves : undefined);
        await node.join(bootstrap.self.addr);
        return node;
      } catch (err) {
        if (attempt === JOIN_ATTEMPTS || !isRetryable(err)) {
          if (node) this.crash(node);
          throw err;
        }
        // As bootstrap backs off: a node that just left may linger in others' lists until stabilization drops it.
        await sleep(this.clock, 250 * 2 ** attempt * (0.8 + 0.4 * this.rng.next()));
      }
    }
  }

  /** A balanced joiner's id, picked through `via` before the node exists; other strategies need no ring. */
  private async pickId(ordinal: number, via: DhtNode): Promise<bigint | undefined> {
    if (this.init.idStrategy !== 'balanced') return undefined;
    const transport = withDeadline(this.network.transport(simAddr(ordinal)), this.clock, this.init.failureTimeoutMs);
    return freeBalancedId(new IdSpace(this.init.idBits), this.rng, {
      lookup: (key) => transport.call(via.self.addr, 'lookup', { key }),
      predecessorOf: async (node) => (await transport.call(node.addr, 'getNeighbours', {})).predecessor,
    });
  }

  /** A node that left for a twin or to rebalance is gone; a new node takes its turn, as a restarted process would. */
  private startOver(node: DhtNode, reason: DisplacedReason, moves: number): void {
    if (this.live.get(node.self.addr) !== node) return;
    this.live.delete(node.self.addr);
    this.#oracle = undefined;
    void this.network.listener(node.self.addr).close();
    if (reason === 'twin') this.#restarts++;
    else this.#moves++;
    this.joinRing(undefined, undefined, reason === 'rebalance' ? moves + 1 : moves).catch(() => {}); // a failed rejoin is a lost node, as after a crash
  }

  /** The process dies: it stops and its address refuses connections. */
  crash(node: DhtNode): void {
    node.stop();
    void this.network.listener(node.self.addr).close();
    this.live.delete(node.self.addr);
    this.#oracle = undefined;
  }

  /** Graceful departure: the node tells its neighbours, then goes. */
  async leave(node: DhtNode): Promise<void> {
    this.live.delete(node.self.addr);
    this.#oracle = undefined;
    await this.clock.complete(node.leave());
    void this.network.listener(node.self.addr).close();
  }

  /**
   * Builds a ring of `count` nodes (or the given ids) directly in its converged state: each
   * node's list and pointers are computed by the same upkeep code, fed from the oracle.
   * `maintain` starts the periodic upkeep too (for traffic measurements and churn).
   */
  async buildStatic(members: number | readonly bigint[], options: { maintain?: boolean; arrival?: Arrival } = {}): Promise<void> {
    const ids = typeof members === 'number' ? await this.staticIds(members, options.arrival ?? 'one-by-one') : members;
    const nodes = ids.map((id) => this.spawn(id));
    const oracle = this.oracle();
    const source = oracle.pointerSource();
    for (const node of nodes) {
      node.ring.install(oracle.predecessorNodeOf(node.self), oracle.successorsOf(node.self));
      await node.router.fix(source);
      node.markJoined();
      if (options.maintain) node.startMaintenance();
    }
  }

  /**
   * Ids of a ring grown by the strategy, without the messages: a balanced joiner samples the
   * ring exactly as its lookups would show it, either the ring built so far (one by one) or the
   * first node alone (all at once, the worst race). Then joiners check their place in turn, in
   * a random order, and move as a real node's placement checks would (worthMoving).
   */
  private async staticIds(count: number, arrival: Arrival): Promise<bigint[]> {
    const space = new IdSpace(this.init.idBits);
    if (this.init.idStrategy === 'ordinal') return Array.from({ length: count }, (_, i) => ordinalId(i, space));
    if (this.init.idStrategy === 'hash' || count === 0) return Array.from({ length: count }, () => this.randomId());
    const ring = new SortedRing(space, this.init.successorListSize);
    const sample = async (key: bigint) => ring.sample(key);
    ring.add(this.randomId());
    const joiners: bigint[] = [];
    while (joiners.length < count - 1) {
      const id = await balancedId(space, this.rng, sample);
      joiners.push(id);
      if (arrival === 'one-by-one') ring.add(id);
    }
    if (arrival === 'at-once') for (const id of joiners) ring.add(id);
    await this.settleStatic(ring, new Map(joiners.map((id) => [id, 0])));
    for (const id of ring.ids) this.usedIds.add(id);
    return ring.ids;
  }

  /** Rounds of placement checks on a static ring until none moves; `moves` counts each joiner's moves so far. */
  private async settleStatic(ring: SortedRing, moves: Map<bigint, number>): Promise<void> {
    const space = new IdSpace(this.init.idBits);
    const sample = async (key: bigint) => ring.sample(key);
    const view = { lookup: async (key: bigint) => ring.lookup(key), predecessorOf: async (node: { id: bigint }) => ring.lookup(node.id).predecessor };
    for (let moved = true; moved; ) {
      moved = false;
      const order = [...moves.keys()];
      for (let i = order.length - 1; i > 0; i--) {
        const j = this.rng.int(i + 1);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      for (const id of order) {
        const made = moves.get(id)!;
        if (made >= MAX_MOVES) continue;
        const { own, next } = ring.intervalsAt(id);
        if (!(await worthMoving(space, this.rng, own, next, view))) continue;
        ring.remove(id);
        moves.delete(id);
        const to = await balancedId(space, this.rng, sample);
        ring.add(to);
        moves.set(to, made + 1);
        moved = true;
        this.#moves++;
      }
    }
  }

  /**
   * Runs until a whole round of placement checks (placementChecksSpanMs) passed without a move,
   * or for `limitMs`; whether it settled.
   */
  async settlePlacement(limitMs: number): Promise<boolean> {
    const span = placementChecksSpanMs(this.init);
    for (let waited = 0; waited < limitMs; waited += span) {
      const before = this.#moves;
      await this.clock.advance(span);
      if (this.#moves === before) return true;
    }
    return false;
  }

  /** Runs until every live node's successor list and predecessor match the oracle. */
  converge(limitMs: number): Promise<boolean> {
    return this.clock.runUntilTrue(() => ringViolations(this.nodes, this.oracle()).length === 0, limitMs, 500);
  }

  private nodeInit(self: NodeRef, moves: number | undefined): DhtNodeInit {
    const { latencyMs: _latency, lossRate: _loss, seed: _seed, idStrategy, ...init } = this.init;
    return { self, ...init, rebalance: idStrategy === 'balanced' && moves !== undefined && moves < MAX_MOVES };
  }
}

/** How the nodes of a static ring arrived: each seeing the ones before it, or all seeing the first alone. */
export type Arrival = 'one-by-one' | 'at-once';

/** Bare ids in order, answering lookups as a converged ring would (for static construction). */
class SortedRing {
  readonly ids: bigint[] = [];

  constructor(
    private readonly space: IdSpace,
    private readonly successorListSize: number,
  ) {}

  get size(): number {
    return this.ids.length;
  }

  add(id: bigint): void {
    this.ids.splice(this.ownerIndex(id), 0, id);
  }

  remove(id: bigint): void {
    this.ids.splice(this.ownerIndex(id), 1);
  }

  /** The intervals ending at member `id` and at its successor. */
  intervalsAt(id: bigint): { own: bigint; next: bigint } {
    const n = this.ids.length;
    const i = this.ownerIndex(id);
    const at = (j: number) => this.ids[(j + n) % n]!;
    const gap = (a: bigint, b: bigint) => this.space.distance(a, b) || this.space.size;
    return { own: gap(at(i - 1), id), next: gap(id, at(i + 1)) };
  }

  /** A converged ring's answer to a lookup of `key`: its owner first in the run. */
  lookup(key: bigint): RingSample & { readonly owner: NodeRef } {
    const answer = this.sample(key);
    return { ...answer, owner: answer.successors[0] ?? answer.predecessor };
  }

  sample(key: bigint): RingSample {
    const n = this.ids.length;
    const predecessor = (this.ownerIndex(key) - 1 + n) % n;
    const ref = (i: number) => ({ id: this.ids[i % n]!, addr: '' });
    const successors = Array.from({ length: Math.min(this.successorListSize, n - 1) }, (_, j) => ref(predecessor + 1 + j));
    return { predecessor: ref(predecessor), successors };
  }

  /** Index of the first id ≥ key (may be n: the owner wraps to the first). */
  private ownerIndex(key: bigint): number {
    let lo = 0;
    let hi = this.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ids[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** What differs between each node's ring state and the truth; empty when the ring is correct. */
export function ringViolations(nodes: readonly DhtNode[], oracle: Oracle): string[] {
  const problems: string[] = [];
  for (const node of nodes) {
    const want = oracle.successorsOf(node.self);
    const have = node.ring.successors;
    if (want.length !== have.length || want.some((n, i) => !sameNode(n, have[i]))) {
      problems.push(`${node.self.addr}: successors [${have.map((n) => n.addr)}], want [${want.map((n) => n.addr)}]`);
    }
    const pred = oracle.predecessorNodeOf(node.self);
    if (pred && !sameNode(pred, node.ring.predecessor)) {
      problems.push(`${node.self.addr}: predecessor ${node.ring.predecessor?.addr ?? 'none'}, want ${pred.addr}`);
    }
  }
  return problems;
}

function simAddr(ordinal: number): string {
  return `sim-${ordinal}:4000`;
}

/** A stable number in [0, 1) per directed link, so each link keeps its latency. */
function linkHash(from: string, to: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (const ch of `${from}>${to}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return (h >>> 0) / 2 ** 32;
}
