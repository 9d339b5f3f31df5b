import type { IdSpace } from '../id/id-space.js';
import { sameNode, type NodeRef } from '../id/node-ref.js';
import type { Ring } from '../ring/ring.js';
import type { LookupAnswer } from '../routing/lookup.js';
import type { Clock } from '../runtime/clock.js';

/**
 * How long a looked-up range is trusted. Ranges this node replicates change only with
 * membership, and accepting a range it replicated a moment ago does no harm (repair moves such
 * pairs on); a refusal is remembered only briefly, so a new replica takes writes soon.
 */
const COVERED_MEMORY_MS = 30_000;
const REFUSED_MEMORY_MS = 2_000;
/** Ranges remembered at once; a node replicates r − 1 ranges, the rest are strangers' keys. */
const MAX_RANGES = 64;

export interface ResponsibilityComponents {
  readonly self: NodeRef;
  readonly ids: IdSpace;
  readonly ring: Ring;
  readonly clock: Clock;
  /** A lookup that is not counted as a client lookup. */
  lookup(key: bigint, signal?: AbortSignal): Promise<LookupAnswer>;
}

interface KnownRange {
  readonly from: bigint;
  readonly to: bigint;
  readonly covered: boolean;
  readonly until: number;
}

/**
 * Whether this node is one of the r nodes responsible for a key (its owner or a replica), so
 * that peers can hand it data only for such keys. Its own range it knows; for the rest it asks
 * the ring once per range and remembers the answer briefly, so a message full of strangers' keys
 * costs a few lookups, not one per key.
 */
export class Responsibility {
  private ranges: KnownRange[] = [];
  /** Start of the span (start, self] this node replicates, found by refresh(); undefined until then. */
  #replicatedFrom: bigint | undefined;

  constructor(
    private readonly c: ResponsibilityComponents,
    private readonly replicationFactor: number,
  ) {}

  async covers(id: bigint, signal?: AbortSignal): Promise<boolean> {
    if (this.c.ring.owns(id)) return true;
    if (this.#replicatedFrom !== undefined && this.c.ids.inHalfOpen(id, this.#replicatedFrom, this.c.self.id)) return true;
    const now = this.c.clock.now();
    this.ranges = this.ranges.filter((r) => r.until > now);
    const known = this.ranges.find((r) => this.c.ids.inHalfOpen(id, r.from, r.to));
    if (known) return known.covered;
    const answer = await this.c.lookup(id, signal);
    const replicas = answer.successors.slice(0, this.replicationFactor);
    // In a ring of at most r nodes this node's own list comes round to it: it replicates its successor's keys too.
    const wrapped = sameNode(answer.predecessor, this.c.self) && this.c.ring.wrapsRound && replicas.length < this.replicationFactor;
    const covered = wrapped || replicas.some((n) => sameNode(n, this.c.self));
    if (this.ranges.length === MAX_RANGES) this.ranges.shift();
    this.ranges.push({ from: answer.predecessor.id, to: answer.owner.id, covered, until: now + (covered ? COVERED_MEMORY_MS : REFUSED_MEMORY_MS) });
    return covered;
  }

  /**
   * Walks back r − 1 predecessors with lookups (each lookup of a node's id ends at the node
   * before it), so that replica writes for the ranges of those predecessors are accepted without
   * a lookup each. Run by the storage repair round; a ring that changed meanwhile falls back to
   * the per-range lookups above.
   */
  async refresh(signal?: AbortSignal): Promise<void> {
    const predecessor = this.c.ring.predecessor;
    if (!predecessor || this.c.ring.alone) return;
    let start: NodeRef = predecessor;
    for (let k = 1; k < this.replicationFactor; k++) {
      const before: NodeRef = (await this.c.lookup(start.id, signal)).predecessor;
      if (sameNode(before, this.c.self)) {
        this.#replicatedFrom = this.c.self.id; // a ring of at most r nodes: every key
        return;
      }
      start = before;
    }
    this.#replicatedFrom = start.id;
  }
}
