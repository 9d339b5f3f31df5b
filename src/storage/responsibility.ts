import type { IdSpace } from '../id/id-space.js';
import { sameNode, type NodeRef } from '../id/node-ref.js';
import type { Ring } from '../ring/ring.js';
import type { LookupAnswer } from '../routing/lookup.js';
import type { Clock } from '../runtime/clock.js';

/**
 * Shortest time between two walks of the predecessors for a key outside the span as last
 * learned: enough for a burst of writes to share one walk, short enough that a new replica
 * takes writes within a second of learning it is one.
 */
const MIN_RELEARN_MS = 1_000;

export interface ResponsibilityComponents {
  readonly self: NodeRef;
  readonly ids: IdSpace;
  readonly ring: Ring;
  readonly clock: Clock;
  /** A lookup that is not counted as a client lookup. */
  lookup(key: bigint, signal?: AbortSignal): Promise<LookupAnswer>;
  /** Aborted when the node stops: a walk outlives the request that started it. */
  readonly signal: AbortSignal;
}

/**
 * Whether this node is one of the r nodes responsible for a key (its owner or a replica), so
 * that peers can hand it data only for such keys. It owns (predecessor, self]; it replicates the
 * ranges of its r − 1 predecessors, which a walk back through the ring (r − 1 lookups) finds. The
 * walk runs in every storage repair round and, one at a time and at most once a second, when a
 * key falls outside the span as last learned — so a burst of writes costs one walk, not a lookup
 * per key, and a flood of strangers' keys costs at most one walk a second.
 */
export class Responsibility {
  /** The span (from, self] this node replicates; undefined until a walk finished. */
  #span: LearnedSpan | undefined;
  #learnedAt = -Infinity;
  #walking: Promise<void> | undefined;

  constructor(
    private readonly c: ResponsibilityComponents,
    private readonly replicationFactor: number,
  ) {}

  async covers(id: bigint): Promise<boolean> {
    if (this.inSpan(id)) return true;
    // A span voided by a node that joined since the walk is learned again at once: a replica must
    // not refuse its owner's writes for a second after each join. Only neighbour changes void it,
    // so strangers' keys still cost at most one walk a second.
    const voided = this.#span !== undefined && this.joinedInside(this.#span);
    if (voided || this.c.clock.now() - this.#learnedAt >= MIN_RELEARN_MS) await this.refresh().catch(() => {}); // a failed walk leaves the span as it was
    return this.inSpan(id);
  }

  /** Walks back r − 1 predecessors (a lookup of a node's id ends at the node before it); one walk at a time. */
  refresh(): Promise<void> {
    this.#walking ??= this.walk().finally(() => (this.#walking = undefined));
    return this.#walking;
  }

  private inSpan(id: bigint): boolean {
    if (this.c.ring.owns(id)) return true;
    const span = this.#span;
    return span !== undefined && !this.joinedInside(span) && this.c.ids.inHalfOpen(id, span.from, this.c.self.id);
  }

  /**
   * Whether a node this one did not know of when it walked now sits inside the span: nodes that
   * join behind a node leave its predecessor as it was, so no walk follows — and a span learned
   * on a ring of r nodes ("every key") would take strangers' keys until the next repair round.
   * Such a span counts as unknown until the next walk.
   */
  private joinedInside(span: LearnedSpan): boolean {
    const { ids, self } = this.c;
    return this.neighbours().some((node) => !span.known.has(node.id) && ids.inOpen(node.id, span.from, self.id));
  }

  /** The nodes this one knows without asking: its successors and predecessor. */
  private neighbours(): NodeRef[] {
    const { predecessor, successors } = this.c.ring;
    return predecessor ? [...successors, predecessor] : [...successors];
  }

  private async walk(): Promise<void> {
    if (this.c.ring.alone) return;
    const known = new Set(this.neighbours().map((node) => node.id));
    // A node that just joined hears of its predecessor only at that node's next stabilize, but
    // its successor hands it its range at once: the lookup of its own id names that predecessor.
    const predecessor = this.c.ring.predecessor ?? (await this.c.lookup(this.c.self.id, this.c.signal)).predecessor;
    if (sameNode(predecessor, this.c.self)) return;
    let start: NodeRef = predecessor;
    for (let k = 1; k < this.replicationFactor; k++) {
      const before: NodeRef = (await this.c.lookup(start.id, this.c.signal)).predecessor;
      if (sameNode(before, this.c.self)) {
        start = this.c.self; // a ring of at most r nodes: (self, self] is every key
        break;
      }
      start = before;
    }
    this.#span = { from: start.id, known };
    this.#learnedAt = this.c.clock.now();
  }
}

interface LearnedSpan {
  readonly from: bigint;
  /** Ids of the neighbours known when the walk began. */
  readonly known: ReadonlySet<bigint>;
}
