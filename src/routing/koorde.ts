import type { DigitSpace } from '../id/digits.js';
import type { IdSpace } from '../id/id-space.js';
import { sameNode, uniqueNodes, type NodeRef } from '../id/node-ref.js';
import { DhtError, isRetryable } from '../errors.js';
import type { Ring } from '../ring/ring.js';
import { closestPreceding } from './closest.js';
import type { KoordeCarry, RouteStep } from './route-step.js';
import type { PointerSource, Router } from './router.js';

/**
 * Koorde (Kaashoek & Karger 2003) over base k = 2^s. Node m keeps d = predecessor(k·m) and the
 * k nodes after it. A lookup walks the de Bruijn graph through an imaginary node i that gains
 * one digit of the key per step; corrections move it to the real node simulating i.
 */
export class KoordeRouter implements Router {
  readonly protocol = 'koorde';
  #deBruijn: readonly NodeRef[] = [];

  constructor(
    private readonly ring: Ring,
    private readonly ids: IdSpace,
    private readonly digits: DigitSpace,
  ) {}

  /** d = predecessor(k·self) first, then the k nodes after it. */
  get deBruijn(): readonly NodeRef[] {
    return this.#deBruijn;
  }

  /**
   * The good start: an imaginary node inside (self, successor] whose low digits already are
   * the key's top digits, as many as fit, so only about log_k N digits remain to shift in.
   */
  start(key: bigint): KoordeCarry {
    const { ids, digits } = this;
    const self = this.ring.self.id;
    const successor = this.ring.successor.id;
    for (let embedded = ids.bits - digits.digitBits; embedded >= digits.digitBits; embedded -= digits.digitBits) {
      const width = BigInt(embedded);
      const keyTop = key >> BigInt(ids.bits - embedded);
      const prefix = self >> width;
      // The node's own prefix, or the next one when (self, successor] crosses a prefix boundary.
      for (const p of [prefix, prefix + 1n]) {
        const i = ids.wrap((p << width) | keyTop);
        if (ids.inHalfOpen(i, self, successor)) return { i, kshift: ids.wrap(key << width) };
      }
    }
    return { i: ids.wrap(self + 1n), kshift: key };
  }

  step(key: bigint, carry?: KoordeCarry): RouteStep {
    const { ring, ids, digits } = this;
    const self = ring.self.id;
    if (ring.successorOwns(key)) return { done: true, successors: ring.successors };
    if (!carry && this.#deBruijn.length === 0) {
      // A source without de Bruijn pointers yet (just joined): a neighbour that has them starts
      // afresh. A carried lookup is never restarted — that could send it back where it came from.
      const candidates = closestPreceding(ids, self, key, ring.successors);
      return { done: false, hop: 'successor', candidates, shifts: 0, successors: ring.successors };
    }
    let { i, kshift } = carry ?? this.start(key);
    let shifts = 0;
    if (ids.inHalfOpen(i, self, ring.successor.id)) {
      // This node simulates i: shift digits in until i leaves its interval. A carry made by
      // start() reaches the key (outside (self, successor]) within one digit per position; one
      // that still sits here after that many shifts never leads to the key (i = kshift = 0 spins
      // on 0 forever), so it is refused rather than followed.
      do {
        if (shifts === digits.digits) {
          throw new DhtError('ERR_INVALID_ARGUMENT', `the Koorde carry (i ${ids.toHex(carry?.i ?? i)}) does not lead to key ${ids.toHex(key)}`);
        }
        i = digits.shiftIn(i, digits.top(kshift));
        kshift = digits.shiftIn(kshift, 0n);
        shifts++;
      } while (ids.inHalfOpen(i, self, ring.successor.id));
      const viaDeBruijn = this.deBruijnCandidates(i);
      if (viaDeBruijn.length > 0 && !sameNode(viaDeBruijn[0], ring.self)) {
        // Should every de Bruijn entry before i be dead, the successors still precede i: a
        // longer way round, but the lookup goes on instead of failing.
        const candidates = uniqueNodes([...viaDeBruijn, ...this.corrections(i)]);
        return { done: false, hop: 'debruijn', candidates, carry: { i, kshift }, shifts, imaginary: i, successors: ring.successors };
      }
      // The best de Bruijn entry is this node itself: go on with a correction, no message.
    }
    const candidates = this.corrections(i);
    return { done: false, hop: 'correction', candidates, carry: { i, kshift }, shifts, imaginary: i, successors: ring.successors };
  }

  /** Known nodes between this node and i, closest to i first: where a correction moves. */
  private corrections(i: bigint): NodeRef[] {
    return closestPreceding(this.ids, this.ring.self.id, i, [...this.ring.successors, ...this.#deBruijn]);
  }

  /** Entries from d up to i, closest to i first; d, a predecessor of every such i, comes last. */
  private deBruijnCandidates(i: bigint): NodeRef[] {
    const d = this.#deBruijn[0];
    // No list, or d = i exactly (i's predecessor is then not in the list): a correction takes over.
    if (!d || d.id === i) return [];
    return [...closestPreceding(this.ids, d.id, i, this.#deBruijn), d];
  }

  pointers(): readonly NodeRef[] {
    return this.#deBruijn.filter((n) => !sameNode(n, this.ring.self));
  }

  ready(): boolean {
    return this.#deBruijn.length > 0;
  }

  /**
   * Cheap check first: if d still precedes k·self and its successor follows it, d's own list
   * is the answer. Otherwise an ordinary lookup of k·self finds d. Pointers come only from
   * successor lists, never from other nodes' predecessor pointers, which may name half-joined nodes.
   */
  async fix(source: PointerSource, signal?: AbortSignal): Promise<void> {
    const target = this.digits.shiftIn(this.ring.self.id, 0n);
    try {
      let d = this.#deBruijn[0];
      let after = d ? await this.confirm(source, d, target, signal) : undefined;
      if (!d || !after) {
        const answer = await source.lookup(target, signal);
        d = answer.predecessor;
        after = answer.successors;
      }
      this.#deBruijn = await this.extend(source, [d], after, signal);
    } catch (err) {
      if (!isRetryable(err)) throw err; // keep the old list; the next round retries
    }
  }

  private async confirm(
    source: PointerSource,
    d: NodeRef,
    target: bigint,
    signal?: AbortSignal,
  ): Promise<readonly NodeRef[] | undefined> {
    try {
      const { successors } = await source.neighbours(d, signal);
      const next = successors[0];
      return next && this.ids.inHalfOpen(target, d.id, next.id) ? successors : undefined;
    } catch (err) {
      if (!isRetryable(err)) throw err;
      return undefined; // d is gone: look it up afresh
    }
  }

  /** Appends ring successors until k + 1 nodes are known or the ring comes round. */
  private async extend(
    source: PointerSource,
    list: NodeRef[],
    after: readonly NodeRef[],
    signal?: AbortSignal,
  ): Promise<NodeRef[]> {
    const want = this.digits.degree + 1;
    let next = after;
    for (;;) {
      for (const n of next) {
        if (list.length === want || list.some((m) => sameNode(m, n))) return list;
        list.push(n);
      }
      if (list.length === want || next.length === 0) return list;
      next = (await source.neighbours(list[list.length - 1]!, signal)).successors;
    }
  }
}
