import type { IdSpace } from '../id/id-space.js';
import { sameNode, type NodeRef } from '../id/node-ref.js';
import { DhtError, isRetryable } from '../errors.js';
import type { RangeData } from '../ring/range-hand-off.js';
import type { Ring } from '../ring/ring.js';
import type { LookupAnswer } from '../routing/lookup.js';
import type { Handler, Handlers } from '../rpc/messages.js';
import type { Clock } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import type { StoredItem } from '../stored-item.js';
import type { Transport } from '../transport/transport.js';
import { ItemStore, newer } from './item-store.js';
import { batches, checkCount, checkItem, checkItems, checkPair, DEFAULT_KV_LIMITS, type KvLimits } from './kv-limits.js';

/** How long a delete is remembered, so a replica that was away cannot bring the value back. */
export const TOMBSTONE_TTL_MS = 10 * 60_000;

export interface ReplicatedStoreComponents {
  readonly self: NodeRef;
  readonly ids: IdSpace;
  readonly ring: Ring;
  readonly peers: Transport;
  readonly clock: Clock;
  readonly logger: Logger;
  lookup(key: bigint, signal?: AbortSignal): Promise<LookupAnswer>;
  /** Whether this node owns or replicates the key id: peers hand it only such keys. */
  covers(id: bigint): Promise<boolean>;
}

export interface ReplicatedStoreInit {
  /** Copies of each pair: the owner and its next replicationFactor − 1 successors. */
  readonly replicationFactor: number;
  /** Sizes, counts and clock skew accepted; DEFAULT_KV_LIMITS when absent. */
  readonly kvLimits?: KvLimits;
}

type StoreHandlers = Pick<Handlers, 'storePut' | 'storeGet' | 'storeItems' | 'syncDigest'>;

/**
 * The key-value store over the DHT: successor-list replication with last-writer-wins versions.
 * Writes go through the first live node of the key's replica set, which acknowledges once it
 * and at least one replica hold the pair; reads fall over along the replica set; a periodic
 * repair keeps every range on its owner and replicas as the ring changes.
 */
export class ReplicatedStore {
  readonly items: ItemStore;
  readonly handlers: StoreHandlers;
  private readonly c: ReplicatedStoreComponents;
  private readonly replicationFactor: number;
  private readonly limits: KvLimits;

  constructor(components: ReplicatedStoreComponents, init: ReplicatedStoreInit) {
    this.c = components;
    this.replicationFactor = init.replicationFactor;
    this.limits = init.kvLimits ?? DEFAULT_KV_LIMITS;
    this.items = new ItemStore(components.ids);
    this.handlers = {
      storePut: this.primaryWrite,
      storeGet: async ({ key }) => ({ item: this.items.get(key) }),
      storeItems: this.acceptItems,
      syncDigest: this.answerDigest,
    };
  }

  async put(key: string, value: string, signal?: AbortSignal): Promise<void> {
    await this.write(key, value, false, signal);
  }

  async delete(key: string, signal?: AbortSignal): Promise<void> {
    await this.write(key, '', true, signal);
  }

  /** The value, from the first replica that has the key; ERR_NOT_FOUND when none has it. */
  async get(key: string, signal?: AbortSignal): Promise<string> {
    checkPair(key, '', this.limits);
    const replicas = await this.replicaSet(key, signal);
    let answered = false;
    let failure: unknown;
    for (const replica of replicas) {
      try {
        const { item } = await this.c.peers.call(replica.addr, 'storeGet', { key }, { signal });
        answered = true;
        // A tombstone is an answer; a replica that never saw the key is not (it may have just joined).
        if (item) {
          if (item.deleted) break;
          return item.value;
        }
      } catch (err) {
        if (!isRetryable(err)) throw err;
        failure = err;
      }
    }
    if (answered) throw new DhtError('ERR_NOT_FOUND', `no value stored under "${key}"`);
    throw new DhtError('ERR_UNREACHABLE', `no replica of "${key}" answered`, { cause: failure });
  }

  /**
   * The pairs by key range, as hand-offs move them: a new predecessor's copies stay here as
   * replicas. Before leaving, every pair held outside the node's own range goes to its owner: a
   * replica's copy is usually one of several, but a repair round on a stale view may have left the
   * only copy of a pair here; the owner keeps the newest version and its repair restores the
   * replicas.
   */
  readonly range: RangeData<StoredItem> = {
    inRange: (from, to) => this.items.inRange(from, to),
    give: (to, items, signal) => this.send(to, items, signal),
    giveRest: (ownFrom, signal) => this.relocate(ownFrom, { keepReplicas: false }, signal),
  };

  /**
   * One repair round: sync this node's range with its replicas both ways, then give away
   * pairs it holds for ranges it neither owns nor replicates any more.
   */
  async repair(signal?: AbortSignal): Promise<void> {
    const { ring, self } = this.c;
    this.items.dropTombstones(this.c.clock.now() - TOMBSTONE_TTL_MS);
    if (!ring.alone && !ring.predecessor) return; // own range unknown until a predecessor notifies
    const from = ring.alone ? self.id : ring.predecessor!.id;
    for (const replica of this.replicasOfOwnRange()) {
      await this.sync(replica, from, self.id, signal).catch((err: unknown) => {
        if (!isRetryable(err)) throw err; // a dead replica drops out of the successor list soon
      });
    }
    if (!ring.alone) await this.relocate(from, { keepReplicas: true }, signal);
  }

  private async write(key: string, value: string, deleted: boolean, signal?: AbortSignal): Promise<void> {
    checkPair(key, value, this.limits);
    const replicas = await this.replicaSet(key, signal);
    let failure: unknown;
    for (const primary of replicas) {
      try {
        await this.c.peers.call(primary.addr, 'storePut', { key, value, deleted }, { signal });
        return;
      } catch (err) {
        if (!isRetryable(err)) throw err;
        failure = err; // the next replica is the owner once the dead one is noticed
      }
    }
    throw new DhtError('ERR_UNREACHABLE', `no replica of "${key}" accepted the write`, { cause: failure });
  }

  private async replicaSet(key: string, signal?: AbortSignal): Promise<readonly NodeRef[]> {
    const { successors } = await this.c.lookup(this.c.ids.hash(key), signal);
    return successors.slice(0, this.replicationFactor);
  }

  private replicasOfOwnRange(): NodeRef[] {
    return this.c.ring.successors.filter((n) => !sameNode(n, this.c.self)).slice(0, this.replicationFactor - 1);
  }

  private readonly primaryWrite: Handler<'storePut'> = async ({ key, value, deleted }, { signal }) => {
    checkPair(key, value, this.limits);
    if (!(await this.c.covers(this.c.ids.hash(key)))) {
      throw new DhtError('ERR_NOT_OWNER', `"${key.slice(0, 64)}" is neither owned nor replicated by ${this.c.self.addr}`);
    }
    // Whole ms: the wire carries versions as integers, so a fraction kept here would make this
    // copy look newer than its replicas' for ever.
    const version = Math.max(Math.floor(this.c.clock.now()), (this.items.get(key)?.version ?? 0) + 1);
    const item: StoredItem = { key, value, version, deleted };
    this.items.merge(item);
    const replicas = this.replicasOfOwnRange();
    if (replicas.length === 0) return { version }; // a ring of one: nowhere else to copy to
    const copies = replicas.map((r) => this.c.peers.call(r.addr, 'storeItems', { items: [item] }, { signal }));
    try {
      await Promise.any(copies); // acknowledged once one replica holds it too; the rest finish meanwhile
    } catch (err) {
      throw new DhtError('ERR_NOT_REPLICATED', `"${key}" reached no replica; repair will retry`, { cause: err });
    }
    return { version };
  };

  /**
   * Replica writes and hand-offs: pairs within the limits, for keys this node owns or
   * replicates. Refusing a foreign key (ERR_NOT_OWNER, retryable) keeps it with the sender,
   * which tries again once the ring has settled.
   */
  private readonly acceptItems: Handler<'storeItems'> = async ({ items }) => {
    checkItems(items, this.c.clock.now(), this.limits);
    let refused = 0;
    for (const item of items) {
      if (await this.c.covers(this.items.keyId(item.key))) this.items.merge(item);
      else refused++;
    }
    if (refused) throw new DhtError('ERR_NOT_OWNER', `${refused} of ${items.length} items are for keys ${this.c.self.addr} neither owns nor replicates`);
    return {};
  };

  private readonly answerDigest: Handler<'syncDigest'> = async ({ from, to, digest }) => {
    checkCount(digest.length, this.limits);
    const theirs = new Map(digest.map((d) => [d.key, d.version]));
    const want = digest.filter((d) => (this.items.get(d.key)?.version ?? -1) < d.version).map((d) => d.key);
    const mine = this.items.inRange(from, to).filter((item) => {
      const version = theirs.get(item.key);
      return version === undefined || item.version > version;
    });
    // Capped so the answer fits a message; the rest comes in the next rounds, once these are known.
    return { want, newer: mine.slice(0, this.limits.maxItemsPerMessage) };
  };

  /** Syncs (from, to] in sub-ranges of at most KV_MAX_ITEMS_PER_MESSAGE held items each. */
  private async sync(replica: NodeRef, from: bigint, to: bigint, signal?: AbortSignal): Promise<void> {
    const distance = (item: StoredItem) => this.c.ids.distance(from, this.items.keyId(item.key));
    const held = this.items.inRange(from, to).sort((a, b) => (distance(a) < distance(b) ? -1 : 1));
    const step = this.limits.maxItemsPerMessage;
    let start = from;
    for (let at = 0; at === 0 || at < held.length; at += step) {
      const part = held.slice(at, at + step);
      const end = at + step >= held.length ? to : this.items.keyId(part[part.length - 1]!.key);
      await this.syncRange(replica, start, end, part, signal);
      start = end;
    }
  }

  private async syncRange(replica: NodeRef, from: bigint, to: bigint, held: readonly StoredItem[], signal?: AbortSignal): Promise<void> {
    const digest = held.map(({ key, version }) => ({ key, version }));
    const { want, newer: theirs } = await this.c.peers.call(replica.addr, 'syncDigest', { from, to, digest }, { signal });
    // The replica's answer is checked like any peer's items: within limits, and of this range only.
    const now = this.c.clock.now();
    for (const item of theirs) {
      checkItem(item, now, this.limits);
      if (this.c.ids.inHalfOpen(this.items.keyId(item.key), from, to)) this.items.merge(item);
    }
    const wanted = new Set(want);
    await this.send(replica, held.filter((item) => wanted.has(item.key)), signal);
  }

  /** Hands items over in messages the receiver accepts. */
  private async send(to: NodeRef, items: readonly StoredItem[], signal?: AbortSignal): Promise<void> {
    for (const batch of batches(items, this.limits)) await this.c.peers.call(to.addr, 'storeItems', { items: batch }, { signal });
  }

  /**
   * Pairs outside this node's range go to their owner; with `keepReplicas`, those it is one of
   * the replicas of stay.
   */
  private async relocate(ownFrom: bigint, { keepReplicas }: { keepReplicas: boolean }, signal?: AbortSignal): Promise<void> {
    const { ids, self } = this.c;
    const foreign = this.items.all().filter((item) => !ids.inHalfOpen(this.items.keyId(item.key), ownFrom, self.id));
    let covered: { from: bigint; to: bigint; keep: boolean; owner: NodeRef } | undefined;
    const moves = new Map<string, { owner: NodeRef; items: StoredItem[] }>();
    for (const item of foreign) {
      const id = this.items.keyId(item.key);
      if (!covered || !ids.inHalfOpen(id, covered.from, covered.to)) {
        try {
          const answer = await this.c.lookup(id, signal);
          // A stale view may name this node the owner: it cannot give the pair to itself.
          const keep = sameNode(answer.owner, self) || (keepReplicas && answer.successors.slice(0, this.replicationFactor).some((n) => sameNode(n, self)));
          covered = { from: answer.predecessor.id, to: answer.owner.id, keep, owner: answer.owner };
        } catch (err) {
          if (!isRetryable(err)) throw err;
          return; // the ring is in flux; the next round tries again
        }
      }
      if (covered.keep) continue;
      const move = moves.get(covered.owner.addr) ?? { owner: covered.owner, items: [] };
      move.items.push(item);
      moves.set(covered.owner.addr, move);
    }
    for (const { owner, items } of moves.values()) {
      try {
        await this.send(owner, items, signal);
      } catch (err) {
        if (!isRetryable(err)) throw err;
        continue; // an owner that refused or did not answer gets them in a later round; the others get theirs now
      }
      // Drop only what is still the same version: a write may have arrived meanwhile.
      for (const item of items) {
        const current = this.items.get(item.key);
        if (current && !newer(current, item)) this.items.delete(item.key);
      }
    }
  }
}
