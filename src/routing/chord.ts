import type { IdSpace } from '../id/id-space.js';
import { sameNode, uniqueNodes, type NodeRef } from '../id/node-ref.js';
import { isRetryable } from '../errors.js';
import type { Ring } from '../ring/ring.js';
import { closestPreceding } from './closest.js';
import type { RouteStep } from './route-step.js';
import type { PointerSource, Router } from './router.js';

/**
 * Chord: finger i points at successor(self + 2^i); a lookup moves to the finger that most
 * closely precedes the key. Mean path ≈ ½·log2 N.
 */
export class ChordRouter implements Router {
  readonly protocol = 'chord';
  #fingers: ReadonlyArray<NodeRef | undefined>;
  /** The distinct fingers other than self, derived from #fingers whenever it changes. */
  #pointers: readonly NodeRef[] = [];

  constructor(
    private readonly ring: Ring,
    private readonly ids: IdSpace,
  ) {
    this.#fingers = new Array<NodeRef | undefined>(ids.bits).fill(undefined);
  }

  /** finger[i] = successor(self + 2^i), undefined until first fixed. */
  get fingers(): ReadonlyArray<NodeRef | undefined> {
    return this.#fingers;
  }

  /**
   * The closest preceding finger first, as in Chord's lookup; successor-list entries follow as
   * fallbacks for dead or not yet fixed fingers. Ranking them with the fingers would make the
   * hop count a function of r rather than of Chord (a list of 8 covers 1/8 of a 64-node ring).
   */
  step(key: bigint): RouteStep {
    const { ring, ids } = this;
    if (ring.successorOwns(key)) return { done: true, successors: ring.successors };
    const self = ring.self.id;
    const viaFingers = closestPreceding(ids, self, key, this.pointers());
    const viaSuccessors = closestPreceding(ids, self, key, ring.successors);
    const candidates = uniqueNodes([...viaFingers, ...viaSuccessors]);
    return { done: false, hop: viaFingers.length ? 'finger' : 'successor', candidates, shifts: 0, successors: ring.successors };
  }

  pointers(): readonly NodeRef[] {
    return this.#pointers;
  }

  ready(): boolean {
    return this.ring.alone || this.#fingers.some((f) => f !== undefined);
  }

  /**
   * One lookup per distinct finger: while self + 2^i still falls before the last finger found,
   * that finger serves again, so a round costs about log2 N lookups rather than `bits`.
   */
  async fix(source: PointerSource, signal?: AbortSignal): Promise<void> {
    const self = this.ring.self.id;
    const fingers = [...this.#fingers];
    let covered = this.ring.successor;
    for (let i = 0; i < this.ids.bits; i++) {
      const target = this.ids.wrap(self + (1n << BigInt(i)));
      if (!this.ids.inHalfOpen(target, self, covered.id)) {
        try {
          covered = (await source.lookup(target, signal)).owner;
        } catch (err) {
          if (!isRetryable(err)) throw err;
          covered = fingers[i] ?? covered; // keep the old finger; the next round retries
        }
      }
      fingers[i] = covered;
    }
    this.#fingers = fingers;
    this.#pointers = uniqueNodes(fingers.filter((f): f is NodeRef => f !== undefined && !sameNode(f, this.ring.self)));
  }
}
