/**
 * An independent hop oracle: how many messages a lookup takes in a converged ring, computed
 * straight from the papers over a sorted list of ids. It imports no routing, ring or node code
 * of the project (only its own bigint arithmetic), so a bug in the production next-hop choice or
 * hop counting cannot hide on both sides of a comparison with it.
 *
 * - Chord (Stoica et al. 2001, fig. 4): finger[j] = successor(n + 2^j); find_predecessor walks
 *   to closest_preceding_finger(id), the highest finger strictly inside (n, id), until id lies
 *   in (n, successor(n)].
 * - Koorde (Kaashoek & Karger 2003, §3 and §4.1 for degree k = 2^s): node m keeps
 *   d = predecessor(k·m) and the k nodes after d. A lookup carries an imaginary node i and the
 *   key's remaining digits. The good start picks i in (m, successor(m)] whose low digits are the
 *   key's top digits, as many as fit. A node simulating i (i in (m, successor(m)]) shifts the next
 *   key digit into i until i leaves its interval, then sends the lookup to the de Bruijn entry
 *   that most closely precedes i. A node that does not simulate i corrects: it sends the lookup
 *   to the closest node before i among its successor list and its de Bruijn list.
 *
 * Hops are counted as the production lookup counts them: messages until the node whose
 * successor owns the key has the lookup (the source itself counts 0).
 */

export interface OracleRing {
  /** Identifier width b: the ring has 2^b points. */
  readonly bits: number;
  /** Member ids, any order, no repeats. */
  readonly ids: readonly bigint[];
  /** Successor list length r. */
  readonly successorListSize: number;
}

export class HopOracle {
  private readonly sorted: bigint[];
  private readonly size: bigint;
  private readonly fingerMemo = new Map<number, number[]>();

  constructor(private readonly ring: OracleRing) {
    this.sorted = [...ring.ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    this.size = 1n << BigInt(ring.bits);
    if (this.sorted.length === 0) throw new RangeError('a ring needs at least one id');
  }

  /** Chord hops from the member `source` to the predecessor of `key`. */
  chordHops(source: bigint, key: bigint): number {
    let at = this.indexOf(source);
    let hops = 0;
    while (!this.between(key, this.id(at), this.id(at + 1), true)) {
      at = this.closestPrecedingFinger(at, key);
      hops = this.count(hops);
    }
    return hops;
  }

  /** Koorde hops of degree k (a power of two) from the member `source` to the predecessor of `key`. */
  koordeHops(source: bigint, key: bigint, degree: number): number {
    const s = BigInt(Math.log2(degree));
    const b = BigInt(this.ring.bits);
    let at = this.indexOf(source);
    let { i, kshift } = this.goodStart(at, key, s);
    let hops = 0;
    for (;;) {
      const m = this.id(at);
      const successor = this.id(at + 1);
      if (this.between(key, m, successor, true)) return hops;
      if (this.between(i, m, successor, true)) {
        // This node simulates i: shift in digits of the key until i leaves (m, successor].
        while (this.between(i, m, successor, true)) {
          i = this.mod((i << s) | (kshift >> (b - s)));
          kshift = this.mod(kshift << s);
        }
        const next = this.deBruijnHop(at, i, degree);
        if (next !== undefined && next !== at) {
          at = next;
          hops = this.count(hops);
          continue;
        }
      }
      at = this.correction(at, i, degree);
      hops = this.count(hops);
    }
  }

  /** The imaginary start in (m, successor] ending in as many of the key's top digits as fit. */
  private goodStart(at: number, key: bigint, s: bigint): { i: bigint; kshift: bigint } {
    const b = BigInt(this.ring.bits);
    const m = this.id(at);
    for (let width = b - s; width >= s; width -= s) {
      const top = key >> (b - width);
      // The first point after m whose low `width` bits equal the key's top `width` bits.
      const i = this.mod(m + 1n + ((top - m - 1n) & ((1n << width) - 1n)));
      if (this.between(i, m, this.id(at + 1), true)) return { i, kshift: this.mod(key << width) };
    }
    return { i: this.mod(m + 1n), kshift: key };
  }

  /** d = predecessor(k·m) and the k nodes after it (fewer in a ring of at most k nodes). */
  private deBruijnList(at: number, degree: number): number[] {
    const d = this.ownerIndex(this.mod(this.id(at) * BigInt(degree))) - 1;
    const n = Math.min(degree + 1, this.sorted.length);
    return Array.from({ length: n }, (_, j) => this.norm(d + j));
  }

  /** The de Bruijn entry in [d, i) nearest to i, if any (none when d is i itself). */
  private deBruijnHop(at: number, i: bigint, degree: number): number | undefined {
    const list = this.deBruijnList(at, degree);
    const d = this.id(list[0]!);
    // d = i: the node simulating i is d's predecessor, which the list does not hold.
    if (d === i) return undefined;
    let best: number | undefined;
    for (const n of list) {
      const id = this.id(n);
      if (id !== d && !this.between(id, d, i, false)) continue;
      if (best === undefined || this.dist(id, i) < this.dist(this.id(best), i)) best = n;
    }
    return best;
  }

  /** The node nearest before i, strictly after m, among the successor list and the de Bruijn list. */
  private correction(at: number, i: bigint, degree: number): number {
    const m = this.id(at);
    const r = Math.min(this.ring.successorListSize, this.sorted.length - 1);
    const known = [...Array.from({ length: r }, (_, j) => this.norm(at + 1 + j)), ...this.deBruijnList(at, degree)];
    let best: number | undefined;
    for (const n of known) {
      if (!this.between(this.id(n), m, i, false)) continue;
      if (best === undefined || this.dist(this.id(n), i) < this.dist(this.id(best), i)) best = n;
    }
    if (best === undefined) throw new Error(`koorde oracle: no node between ${m} and ${i}`);
    return best;
  }

  private closestPrecedingFinger(at: number, key: bigint): number {
    const fingers = this.fingers(at);
    for (let j = fingers.length - 1; j >= 0; j--) {
      if (this.between(this.id(fingers[j]!), this.id(at), key, false)) return fingers[j]!;
    }
    throw new Error(`chord oracle: no finger of ${this.id(at)} precedes ${key}`);
  }

  private fingers(at: number): number[] {
    let fingers = this.fingerMemo.get(at);
    if (!fingers) {
      const n = this.id(at);
      fingers = Array.from({ length: this.ring.bits }, (_, j) => this.ownerIndex(this.mod(n + (1n << BigInt(j)))));
      this.fingerMemo.set(at, fingers);
    }
    return fingers;
  }

  /** x in (a, b] (closed) or (a, b) (open), clockwise; (a, a] is the whole ring, (a, a) all but a. */
  private between(x: bigint, a: bigint, b: bigint, closed: boolean): boolean {
    const span = this.dist(a, b);
    const d = this.dist(a, x);
    if (d === 0n) return closed && span === 0n;
    return span === 0n || (closed ? d <= span : d < span);
  }

  private count(hops: number): number {
    // A converged ring needs at most a few times b messages; more means the oracle loops.
    if (hops > 4 * this.ring.bits + 16) throw new Error('hop oracle: lookup does not end');
    return hops + 1;
  }

  private dist(a: bigint, b: bigint): bigint {
    return this.mod(b - a);
  }

  private mod(x: bigint): bigint {
    return ((x % this.size) + this.size) % this.size;
  }

  /** Index of the first id ≥ key, wrapping to 0: the key's owner. */
  private ownerIndex(key: bigint): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo % this.sorted.length;
  }

  private indexOf(id: bigint): number {
    const at = this.ownerIndex(id);
    if (this.sorted[at] !== id) throw new RangeError(`${id} is not a member of the ring`);
    return at;
  }

  private id(index: number): bigint {
    return this.sorted[this.norm(index)]!;
  }

  private norm(index: number): number {
    const n = this.sorted.length;
    return ((index % n) + n) % n;
  }
}
