import type { NodeRef } from '../id/node-ref.js';
import type { LookupAnswer } from '../routing/lookup.js';
import type { PointerSource } from '../routing/router.js';

/**
 * The truth about a ring, computed from the sorted list of its live members: who owns a key,
 * who precedes it, what every successor list should be.
 */
export class Oracle {
  readonly sorted: readonly NodeRef[];
  private readonly index = new Map<string, number>();

  constructor(
    members: Iterable<NodeRef>,
    private readonly successorListSize: number,
  ) {
    this.sorted = [...members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (this.sorted.length === 0) throw new RangeError('an oracle needs at least one node');
    this.sorted.forEach((n, i) => this.index.set(n.addr, i));
  }

  get size(): number {
    return this.sorted.length;
  }

  /** The first node whose id is ≥ key, wrapping: the key's owner. */
  ownerOf(key: bigint): NodeRef {
    return this.sorted[this.ownerIndex(key)]!;
  }

  /** The node just before the owner: the one that knows the owner from its successor list. */
  predecessorOf(key: bigint): NodeRef {
    return this.at(this.ownerIndex(key) - 1);
  }

  /** The next min(r, N − 1) nodes after `node`; a lone node is its own successor. */
  successorsOf(node: NodeRef): NodeRef[] {
    const i = this.indexOf(node);
    const count = Math.min(this.successorListSize, this.size - 1);
    if (count === 0) return [node];
    return Array.from({ length: count }, (_, j) => this.at(i + 1 + j));
  }

  /** The node before `node`; undefined in a ring of one. */
  predecessorNodeOf(node: NodeRef): NodeRef | undefined {
    return this.size === 1 ? undefined : this.at(this.indexOf(node) - 1);
  }

  /** Answers pointer upkeep from the truth, so a static ring gets exactly what upkeep would build. */
  pointerSource(): PointerSource {
    return {
      lookup: async (key) => this.answer(key),
      neighbours: async (node) => ({ predecessor: this.predecessorNodeOf(node), successors: this.successorsOf(node) }),
    };
  }

  answer(key: bigint): LookupAnswer {
    const predecessor = this.predecessorOf(key);
    return { owner: this.ownerOf(key), predecessor, successors: this.successorsOf(predecessor), hops: 0 };
  }

  private ownerIndex(key: bigint): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid]!.id < key) lo = mid + 1;
      else hi = mid;
    }
    return lo % this.sorted.length;
  }

  private indexOf(node: NodeRef): number {
    const i = this.index.get(node.addr);
    if (i === undefined) throw new RangeError(`${node.addr} is not a member of this ring`);
    return i;
  }

  private at(i: number): NodeRef {
    const n = this.sorted.length;
    return this.sorted[((i % n) + n) % n]!;
  }
}
