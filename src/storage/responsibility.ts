import type { IdSpace } from '../id/id-space.js';
import { sameNode, type NodeRef } from '../id/node-ref.js';
import type { Ring } from '../ring/ring.js';
import type { LookupResult } from '../routing/lookup.js';
import type { Clock } from '../runtime/clock.js';

/** How long a looked-up range is trusted: about one stabilization round of a busy ring. */
const RANGE_MEMORY_MS = 2_000;
/** Ranges remembered at once; a node replicates r − 1 ranges, the rest are strangers' keys. */
const MAX_RANGES = 64;

export interface ResponsibilityComponents {
  readonly self: NodeRef;
  readonly ids: IdSpace;
  readonly ring: Ring;
  readonly clock: Clock;
  /** A lookup that is not counted as a client lookup. */
  lookup(key: bigint, signal?: AbortSignal): Promise<LookupResult>;
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

  constructor(
    private readonly c: ResponsibilityComponents,
    private readonly replicationFactor: number,
  ) {}

  async covers(id: bigint, signal?: AbortSignal): Promise<boolean> {
    if (this.c.ring.owns(id)) return true;
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
    this.ranges.push({ from: answer.predecessor.id, to: answer.owner.id, covered, until: now + RANGE_MEMORY_MS });
    return covered;
  }
}
