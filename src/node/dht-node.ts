import { setMaxListeners } from 'node:events';
import { DigitSpace } from '../id/digits.js';
import { IdSpace } from '../id/id-space.js';
import type { NodeRef } from '../id/node-ref.js';
import { worthMoving } from '../id/placement.js';
import { DhtError, isRetryable } from '../errors.js';
import { handOffToSuccessor, moveToNewPredecessor, type RangeData, type RangeView } from '../ring/range-hand-off.js';
import { Ring } from '../ring/ring.js';
import type { KvLimits } from '../storage/kv-limits.js';
import { ReplicatedStore } from '../storage/replicated-store.js';
import { Responsibility } from '../storage/responsibility.js';
import { ChordRouter } from '../routing/chord.js';
import { KoordeRouter } from '../routing/koorde.js';
import { lookup, type LookupResult } from '../routing/lookup.js';
import { LookupStats } from '../routing/lookup-stats.js';
import type { PointerSource, Protocol, Router } from '../routing/router.js';
import { describeHandler } from '../rpc/handlers/describe.js';
import { findNextHandler } from '../rpc/handlers/find-next.js';
import { getNeighboursHandler } from '../rpc/handlers/get-neighbours.js';
import { leaveHandler } from '../rpc/handlers/leave.js';
import { lookupHandler } from '../rpc/handlers/lookup.js';
import { notifyHandler } from '../rpc/handlers/notify.js';
import { pingHandler } from '../rpc/handlers/ping.js';
import type { Handler, Handlers, NodeDescription } from '../rpc/messages.js';
import { sleep, type Clock } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import { repeat } from '../runtime/periodic.js';
import type { Rng } from '../runtime/rng.js';
import { withDeadline } from '../transport/deadline.js';
import { withLoopback } from '../transport/loopback.js';
import type { Transport } from '../transport/transport.js';
import { nodeSnapshot } from './node-snapshot.js';

/** The environment a node runs in: production passes gRPC and the wall clock, the simulator its own. */
export interface NodeComponents {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly logger: Logger;
  /**
   * Told once this node has left the ring for good, either because another node joined with its
   * id at the same instant ('twin') or to take a better place ('rebalance', see DhtNodeInit):
   * start it over as a new node that picks a balanced id.
   */
  readonly onDisplaced?: (reason: DisplacedReason) => void;
  /**
   * Addresses of nodes meant to be in this node's ring: the bootstrap peers. Now and then one of
   * them is asked to look this node's id up, which merges rings that formed apart; none when absent.
   */
  readonly contacts?: () => Promise<readonly string[]>;
}

export type DisplacedReason = 'twin' | 'rebalance';

export interface DhtNodeInit {
  readonly self: NodeRef;
  readonly idBits: number;
  readonly protocol: Protocol;
  /** Koorde's base k (ignored by Chord). */
  readonly degree: number;
  readonly successorListSize: number;
  readonly stabilizeIntervalMs: number;
  /** Period of finger (Chord) or de Bruijn (Koorde) refresh. */
  readonly fixIntervalMs: number;
  /** Deadline of every remote call. */
  readonly failureTimeoutMs: number;
  /** Copies of each key-value pair (owner + successors). */
  readonly replicationFactor: number;
  /** Period of the storage repair round. */
  readonly storageFixIntervalMs: number;
  /** Sizes, counts and clock skew the store accepts; its defaults when absent. */
  readonly kvLimits?: KvLimits;
  /**
   * A balanced joiner that checks its place a few times after joining and moves when joins that
   * raced with its own left it a sliver of the ring (see worthMoving); off when absent.
   */
  readonly rebalance?: boolean;
}

/**
 * Stabilization rounds between two ring checks through a contact. Lost nodes heal a split only
 * while they are remembered; rings that formed apart (many joins at once on an overloaded
 * machine, each giving up successors that were merely slow) may share no lost node at all.
 */
const RING_CHECK_ROUNDS = 10;

/** Placement checks after a join: the last comes about 2^REBALANCE_CHECKS first-check delays later. */
const REBALANCE_CHECKS = 6;

/**
 * The shortest wait before a node's first placement check, each later one twice as long, each
 * stretched by a random factor in [1, 2). It spans a few stabilization rounds, so the ring has
 * settled, and one and a half storage repair rounds, so pairs written while the ring was in flux
 * have reached their owners and replicas before a neighbour moves.
 */
function firstCheckMs(init: Pick<DhtNodeInit, 'stabilizeIntervalMs' | 'storageFixIntervalMs'>): number {
  return Math.max(5 * init.stabilizeIntervalMs, 1.5 * init.storageFixIntervalMs);
}

/** The latest a node's last placement check can come after its join. */
export function placementChecksSpanMs(init: Pick<DhtNodeInit, 'stabilizeIntervalMs' | 'storageFixIntervalMs'>): number {
  return 2 * firstCheckMs(init) * (2 ** REBALANCE_CHECKS - 1);
}

/** Data held by key range, bound to this node's ring: what moves when ownership does. */
interface RangeHolder {
  /** A node joined just before this one and owns (previous, joined] now. */
  toNewPredecessor(previous: NodeRef | undefined, joined: NodeRef): Promise<number>;
  /** This node is leaving: its successor takes over its range. */
  toSuccessor(): Promise<number>;
}

export type NodeStatus = 'NOT_INITIALIZED' | 'DEBRUIJN_NOT_READY' | 'READY' | 'LEAVING';

/** The DHT part of a node: ring, router and their upkeep, behind the handlers peers call. */
export class DhtNode {
  readonly self: NodeRef;
  readonly ids: IdSpace;
  readonly ring: Ring;
  readonly router: Router;
  readonly store: ReplicatedStore;
  readonly handlers: Handlers;
  readonly stats = new LookupStats();
  private readonly rangeHolders: RangeHolder[] = [];
  private readonly responsibility: Responsibility;
  private readonly peers: Transport;
  private readonly clock: Clock;
  private readonly rng: Rng;
  private readonly logger: Logger;
  private readonly onDisplaced: NodeComponents['onDisplaced'];
  private readonly contacts: NodeComponents['contacts'];
  private readonly init: DhtNodeInit;
  private readonly maxHops: number;
  /** Aborts timers and in-flight calls when the node stops. */
  private readonly shutdown = new AbortController();
  #joined = false;
  #leaving = false;
  #figures: (() => unknown) | undefined;

  constructor(components: NodeComponents, init: DhtNodeInit) {
    // Every call in flight listens to the shutdown signal; hundreds at once are normal.
    setMaxListeners(0, this.shutdown.signal);
    this.init = init;
    this.self = init.self;
    this.clock = components.clock;
    this.rng = components.rng;
    this.logger = components.logger;
    this.onDisplaced = components.onDisplaced;
    this.contacts = components.contacts;
    this.ids = new IdSpace(init.idBits);
    this.maxHops = 2 * init.idBits + 16;
    this.peers = withLoopback(
      withDeadline(components.transport, this.clock, init.failureTimeoutMs),
      this.self.addr,
      () => this.handlers,
    );
    this.ring = new Ring(
      {
        self: this.self,
        ids: this.ids,
        peers: this.peers,
        onTwin: (twin) => this.leaveForTwin(twin),
        onNewPredecessor: (previous, current) => {
          // Learn the replicated span now, so the first replica writes after a join need no walk.
          void this.responsibility.refresh().catch(() => {});
          for (const holder of this.rangeHolders) {
            holder.toNewPredecessor(previous, current).catch((err: unknown) => {
              // Repair rounds (or a refetch, for cached objects) make up for a failed push.
              if (!this.signal.aborted) this.logger.warn({ err, joined: current.addr }, 'hand-off to a new predecessor failed');
            });
          }
        },
      },
      init,
    );
    this.router =
      init.protocol === 'chord'
        ? new ChordRouter(this.ring, this.ids)
        : new KoordeRouter(this.ring, this.ids, new DigitSpace(this.ids, init.degree));
    this.responsibility = new Responsibility(
      { self: this.self, ids: this.ids, ring: this.ring, clock: this.clock, lookup: (key, signal) => this.route(key, signal), signal: this.signal },
      init.replicationFactor,
    );
    this.store = new ReplicatedStore(
      {
        self: this.self,
        ids: this.ids,
        ring: this.ring,
        peers: this.peers,
        clock: this.clock,
        logger: this.logger,
        lookup: (key, signal) => this.lookup(key, { signal }),
        covers: (id) => this.covers(id),
      },
      init,
    );
    this.addRangeHolder(this.store.range);
    this.handlers = {
      ...this.store.handlers,
      ping: pingHandler(),
      describe: describeHandler(() => {
        const { status, protocol, predecessor, successors, pointers } = nodeSnapshot(this, (n) => n);
        return { status, protocol, predecessor, successors, pointers, figures: JSON.stringify(this.#figures?.() ?? {}) };
      }),
      getNeighbours: this.inRingOnly<'getNeighbours'>(getNeighboursHandler(this.ring)),
      notify: this.inRingOnly<'notify'>(notifyHandler(this.ring)),
      findNext: findNextHandler(this.router),
      lookup: lookupHandler((key, signal) => this.lookup(key, { signal })),
      leave: leaveHandler(this.ring),
    };
  }

  /**
   * A node that is not in a ring yet must not become anyone's neighbour: a process that moved or
   * restarted answers at the address peers still know under its old id, and two such nodes
   * joining through each other would form a ring of their own.
   */
  private inRingOnly<M extends 'getNeighbours' | 'notify'>(handler: Handler<M>): Handler<M> {
    return async (request, context) => {
      if (!this.#joined) throw new DhtError('ERR_NOT_READY', `node ${this.self.addr} has not joined a ring`);
      return handler(request, context);
    };
  }

  /** Koorde's base k; null for Chord. */
  get degree(): number | null {
    return this.router.protocol === 'koorde' ? this.init.degree : null;
  }

  get status(): NodeStatus {
    if (this.#leaving) return 'LEAVING';
    if (!this.#joined) return 'NOT_INITIALIZED';
    return this.router.ready() ? 'READY' : 'DEBRUIJN_NOT_READY';
  }

  get signal(): AbortSignal {
    return this.shutdown.signal;
  }

  /** Starts a new ring of one node. */
  create(): void {
    this.#joined = true;
    this.startMaintenance();
  }

  /** Joins the ring `bootstrap` (a `host:port`) belongs to, then keeps the ring up to date. */
  async join(bootstrap: string, signal?: AbortSignal): Promise<void> {
    const answer = await this.peers.call(bootstrap, 'lookup', { key: this.self.id }, { signal });
    if (answer.owner.id === this.self.id && answer.owner.addr !== this.self.addr) {
      throw new DhtError('ERR_INVALID_ARGUMENT', `id ${this.ids.toHex(this.self.id)} is already taken by ${answer.owner.addr}`);
    }
    await this.joinFirstLive(answer.successors, signal);
    this.#joined = true;
    await this.ring.stabilize(signal);
    if (this.#leaving) return; // that first round found a twin (see leaveForTwin)
    await this.fixPointers(signal);
    this.startMaintenance();
    if (this.init.rebalance) this.checkPlacement().catch((err: unknown) => this.logger.warn({ err }, 'placement check failed'));
  }

  /** The owner may have died since the lookup; the next live node of its list then succeeds it. */
  private async joinFirstLive(successors: readonly NodeRef[], signal?: AbortSignal): Promise<void> {
    let failure: unknown = new DhtError('ERR_LOOKUP_FAILED', 'the join lookup returned no successor');
    for (const successor of successors) {
      try {
        return await this.ring.join(successor, signal);
      } catch (err) {
        if (!isRetryable(err)) throw err;
        failure = err;
      }
    }
    throw failure;
  }

  /** Finds the owner of `key` and records the lookup in `stats`. */
  async lookup(key: bigint, options: { signal?: AbortSignal } = {}): Promise<LookupResult> {
    const started = this.clock.now();
    try {
      const result = await this.route(key, options.signal);
      this.stats.record(result, this.clock.now() - started);
      return result;
    } catch (err) {
      this.stats.recordFailure();
      throw err;
    }
  }

  /** One stabilization round: successor list, notify, predecessor check, one lost node checked again. */
  async stabilize(signal = this.signal): Promise<void> {
    await this.ring.stabilize(signal);
    await this.ring.checkPredecessor(signal);
    await this.ring.reunite(signal);
  }

  /** Asks a random contact outside the successor list to look this node's id up (Ring.mergeThrough). */
  async checkRing(signal = this.signal): Promise<void> {
    if (!this.contacts || !this.#joined || this.#leaving) return;
    const known = new Set([this.self, ...this.ring.successors].map((n) => n.addr));
    const others = (await this.contacts()).filter((addr) => !known.has(addr));
    if (others.length > 0) await this.ring.mergeThrough(others[this.rng.int(others.length)]!, signal);
  }

  /** One refresh of the long-range pointers. */
  async fixPointers(signal = this.signal): Promise<void> {
    await this.router.fix(this.pointerSource(), signal);
  }

  /** Pointer source for upkeep: lookups that are not counted as client lookups. */
  pointerSource(): PointerSource {
    return {
      lookup: (key, signal) => this.route(key, signal),
      neighbours: (node, signal) => this.peers.call(node.addr, 'getNeighbours', {}, { signal }),
    };
  }

  /** What `describe` reports beyond the DHT: the cache's figures and HTTP port, set by the node process. */
  setFigures(figures: () => unknown): void {
    this.#figures = figures;
  }

  /**
   * Whether this node owns the key id or is one of its replicas (the first REPLICATION_FACTOR
   * nodes from its owner on): what peers may hand it, stored pairs and cached objects alike.
   */
  covers(id: bigint): Promise<boolean> {
    return this.responsibility.covers(id);
  }

  /** Round trip of a ping to `node`, in ms. */
  async ping(node: NodeRef, signal?: AbortSignal): Promise<number> {
    const started = this.clock.now();
    await this.peers.call(node.addr, 'ping', {}, { signal });
    return this.clock.now() - started;
  }

  /** Asks any node (this one included) to describe itself. */
  describePeer(node: NodeRef, signal?: AbortSignal): Promise<NodeDescription> {
    return this.peers.call(node.addr, 'describe', {}, { signal });
  }

  /** Data that follows key ownership (stored pairs, cached objects) and moves when the ring changes. */
  addRangeHolder<T>(data: RangeData<T>): void {
    const view: RangeView = {
      self: this.self,
      ids: this.ids,
      predecessor: () => (this.ring.alone ? undefined : this.ring.predecessor),
      successor: () => (this.ring.alone ? undefined : this.ring.successor),
    };
    this.rangeHolders.push({
      toNewPredecessor: (previous, joined) => moveToNewPredecessor(view, data, previous, joined, this.signal),
      toSuccessor: () => handOffToSuccessor(view, data, this.signal),
    });
  }

  /** Marks the node as part of a ring whose state was installed directly (static simulation). */
  markJoined(): void {
    this.#joined = true;
  }

  /** Leaves gracefully: data goes to the successor first, then neighbours learn of it at once instead of by timeouts. */
  async leave(): Promise<void> {
    this.#leaving = true;
    try {
      for (const holder of this.rangeHolders) {
        await holder.toSuccessor().catch((err: unknown) => {
          if (!isRetryable(err)) throw err;
          this.logger.warn({ err }, 'hand-off before leaving failed'); // stored pairs have replicas; cached objects are refetched
        });
      }
      await this.ring.leave(this.signal);
    } finally {
      this.stop();
    }
  }

  /**
   * Two joiners that saw the ring at the same instant may pick the same id; the successor takes
   * only one of them. The one it did not take is the one that sees its twin there: it holds no
   * range anyone routes to, so it leaves the normal way and its owner starts it over.
   */
  private leaveForTwin(twin: NodeRef): void {
    if (this.#leaving) return;
    this.logger.warn({ id: this.ids.toHex(this.self.id), twin: twin.addr }, 'another node joined with this id at the same instant; leaving');
    this.leaveAndStartOver('twin');
  }

  /**
   * Right after joins that raced, several joiners have split one interval and hold slivers of it.
   * Each looks again after a random delay (so that the slivers move one after another, each
   * seeing where the others went), and again at doubling delays: a sliver leaves the normal way,
   * handing its range to its successor, and its owner joins it again at a balanced id. Checks
   * stop after REBALANCE_CHECKS; each move also lowers Σ span² (worthMoving), so moves end.
   */
  private async checkPlacement(): Promise<void> {
    const first = firstCheckMs(this.init);
    let neighbourhood = this.neighbourhood();
    for (let check = 0; check < REBALANCE_CHECKS && !this.#leaving; check++) {
      try {
        await sleep(this.clock, first * 2 ** check * (1 + this.rng.next()), this.signal);
        // The copies of a range sit on its owner and the next nodes: while one of them moves, its
        // neighbours wait for a check with the neighbourhood unchanged since the last one (at
        // least a repair round), so that repair has restored the copies before the next goes.
        const unchanged = neighbourhood === (neighbourhood = this.neighbourhood());
        // Asked again after the sampling lookups, which take a while: a neighbour that started to
        // move meanwhile has merged one of the intervals this decision was made on.
        if (unchanged && (await this.wantsToMove()) && neighbourhood === this.neighbourhood()) return this.leaveAndStartOver('rebalance');
      } catch (err) {
        if (this.signal.aborted) return;
        if (!isRetryable(err)) throw err;
        // a ring in flux may fail a sampling lookup: the next check samples again
      }
    }
  }

  /** Who holds copies of this node's range and the ranges it replicates. */
  private neighbourhood(): string {
    const nearby = [this.ring.predecessor, ...this.ring.successors.slice(0, this.init.replicationFactor)];
    return nearby.map((n) => n?.addr ?? '').join(' ');
  }

  private async wantsToMove(): Promise<boolean> {
    const predecessor = this.ring.predecessor;
    const successor = this.ring.successors[0];
    if (!predecessor || !successor || successor.id === this.self.id) return false;
    const own = this.ids.distance(predecessor.id, this.self.id);
    const next = this.ids.distance(this.self.id, successor.id);
    return worthMoving(this.ids, this.rng, own, next, {
      lookup: (key) => this.route(key, this.signal),
      predecessorOf: async (node) =>
        node.addr === this.self.addr ? this.ring.predecessor : (await this.peers.call(node.addr, 'getNeighbours', {}, { signal: this.signal })).predecessor,
    });
  }

  private leaveAndStartOver(reason: DisplacedReason): void {
    if (reason === 'rebalance') this.logger.info({ id: this.ids.toHex(this.self.id) }, 'joins that raced left this node a sliver of the ring; moving');
    this.leave()
      .catch((err: unknown) => this.logger.warn({ err, reason }, 'leaving to start over failed'))
      .finally(() => this.onDisplaced?.(reason));
  }

  /** Stops all upkeep and abandons in-flight calls, telling no one (a crash, or after leave). */
  stop(): void {
    this.shutdown.abort(new DhtError('ERR_ABORTED', `node ${this.self.addr} stopped`));
  }

  startMaintenance(): void {
    const { clock, rng, signal } = this;
    const onError = (task: string) => (err: unknown) => this.logger.warn({ err, task }, 'maintenance round failed');
    repeat(clock, rng, this.init.stabilizeIntervalMs, () => this.stabilize(), signal, onError('stabilize'));
    repeat(clock, rng, this.init.fixIntervalMs, () => this.fixPointers(), signal, onError('fix-pointers'));
    repeat(clock, rng, this.init.storageFixIntervalMs, () => this.repairStorage(signal), signal, onError('storage-repair'));
    repeat(clock, rng, RING_CHECK_ROUNDS * this.init.stabilizeIntervalMs, () => this.checkRing(signal), signal, onError('ring-check'));
  }

  private async repairStorage(signal: AbortSignal): Promise<void> {
    await this.responsibility.refresh().catch((err: unknown) => {
      if (!isRetryable(err)) throw err; // the ring is in flux: keys are checked one range at a time meanwhile
    });
    await this.store.repair(signal);
  }

  private route(key: bigint, signal?: AbortSignal): Promise<LookupResult> {
    if (!this.#joined) return Promise.reject(new DhtError('ERR_NOT_READY', `node ${this.self.addr} has not joined a ring`));
    return lookup(
      key,
      {
        self: this.self,
        ids: this.ids,
        localStep: (k) => this.router.step(k),
        remoteStep: (node, k, carry, s) => this.peers.call(node.addr, 'findNext', { key: k, carry }, { signal: s }),
        now: () => this.clock.now(),
      },
      { maxHops: this.maxHops, signal: signal ?? this.signal },
    );
  }
}
