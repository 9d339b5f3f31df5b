import { DhtError, isRetryable } from '../errors.js';
import type { Rng } from '../runtime/rng.js';
import type { IdSpace } from './id-space.js';
import type { NodeRef } from './node-ref.js';

/** How a node without NODE_ID or a saved id chooses its place on the ring. */
export const ID_STRATEGIES = ['hash', 'balanced', 'ordinal'] as const;
export type IdStrategy = (typeof ID_STRATEGIES)[number];

/** Lookups a balanced joiner makes at most, however large the ring looks. */
const MAX_SAMPLES = 48;
/** A balanced id lies in the middle 1/BAND_FRACTION of the interval it splits. */
const BAND_FRACTION = 8n;
/** Picks in a row found taken before giving up: each is a fresh random point, so one retry is already rare. */
const MAX_PICKS = 4;
/** Moves one node makes in a row to rebalance at most: a guard besides the Σ span² argument (worthMoving) against joins that keep racing. */
export const MAX_MOVES = 4;
/** A member moves when its interval and its successor's add up to at most parts/of of the largest interval sampled (see worthMoving). */
const MOVE_SHARE = { parts: 7n, of: 8n };

/**
 * The pod ordinal of a StatefulSet hostname (`dht-node-3` → 3; a FQDN's first label counts).
 * Undefined when the name carries no ordinal.
 */
export function ordinalFromHostname(hostname: string): number | undefined {
  const label = hostname.trim().toLowerCase().split('.')[0] ?? '';
  const match = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?-(\d{1,9})$/.exec(label);
  return match ? Number(match[1]) : undefined;
}

/**
 * Ordinal i at the bit-reversed position i / 2^⌈log2(i+1)⌉ of the ring (0, ½, ¼, ¾, ⅛, …):
 * the first 2^m ordinals split the ring into 2^m equal parts, and each new ordinal halves one
 * of the largest parts left.
 */
export function ordinalId(ordinal: number, ids: IdSpace): bigint {
  if (!Number.isInteger(ordinal) || ordinal < 0) throw new RangeError(`an ordinal is an integer ≥ 0, got ${ordinal}`);
  let rest = BigInt(ordinal);
  if (rest >= ids.size) throw new RangeError(`ordinal ${ordinal} does not fit in ${ids.bits} id bits`);
  let id = 0n;
  for (let bit = BigInt(ids.bits - 1); rest > 0n; bit--, rest >>= 1n) {
    if (rest & 1n) id |= 1n << bit;
  }
  return id;
}

/** What one lookup shows of the ring: a run of consecutive members, the key's predecessor first. */
export interface RingSample {
  readonly predecessor: NodeRef;
  readonly successors: readonly NodeRef[];
}

interface Interval {
  readonly from: bigint;
  /** Clockwise length; the whole ring when a member is alone. */
  readonly span: bigint;
}

/**
 * Karger and Ruhl's placement: look up random keys (sampleIntervals) and split the largest
 * interval between consecutive members seen. The id is a
 * random point of the interval's middle eighth, not its midpoint, and ties go to a random
 * interval: joiners that see the same ring at the same instant still pick different ids.
 */
export async function balancedId(ids: IdSpace, rng: Rng, sample: (key: bigint) => Promise<RingSample>): Promise<bigint> {
  return (await balancedPick(ids, rng, sample, [])).id;
}

/** What a balanced joiner asks of a ring member before it joins. */
export interface PlacementView {
  /** A whole lookup run by the member. */
  lookup(key: bigint): Promise<RingSample & { readonly owner: NodeRef }>;
  /** The node's own predecessor: fresher than the lookup's view, which waits for stabilization. */
  predecessorOf(node: NodeRef): Promise<NodeRef | undefined>;
}

/**
 * A balanced id checked against the ring: looks the pick up and asks its owner for its own
 * predecessor. A node that holds the pick, or joined inside the chosen interval since the
 * samples were taken, splits that interval, and the node picks again. A twin is refused;
 * a view still stale after MAX_PICKS is kept (stabilization will show the rest).
 */
export async function freeBalancedId(ids: IdSpace, rng: Rng, view: PlacementView): Promise<bigint> {
  const taken: bigint[] = [];
  for (let attempt = 1; ; attempt++) {
    const { id, interval } = await balancedPick(ids, rng, (key) => view.lookup(key), taken);
    const { owner } = await view.lookup(id);
    const before = owner.id === id ? owner : await view.predecessorOf(owner);
    const end = ids.wrap(interval.from + interval.span);
    const newer = [owner, before].find((n) => n && ids.inOpen(n.id, interval.from, end));
    if (owner.id !== id && !newer) return id;
    if (attempt === MAX_PICKS) {
      if (owner.id === id) throw new DhtError('ERR_LOOKUP_FAILED', `${MAX_PICKS} balanced picks in a row were already taken`);
      return id;
    }
    taken.push(owner.id === id ? id : newer!.id);
  }
}

/** balancedId, also telling which interval it split; `taken` are ids in use that the samples may not show. */
async function balancedPick(ids: IdSpace, rng: Rng, sample: (key: bigint) => Promise<RingSample>, taken: readonly bigint[]): Promise<{ id: bigint; interval: Interval }> {
  const intervals = splitAt(await sampleIntervals(ids, rng, sample), taken, ids);
  const largest = largestSpan(intervals);
  if (largest < 2n) throw new RangeError('no interval of the ring is wide enough to split');
  const ties = intervals.filter((x) => x.span === largest);
  const interval = ties[rng.int(ties.length)]!;
  const band = interval.span / BAND_FRACTION;
  // (band · u) / 2^64 for a uniform 64-bit u: a uniform offset into the band, exact in bigint.
  const offset = (band * rng.bits(64)) >> 64n;
  return { id: ids.wrap(interval.from + interval.span / 2n - band / 2n + offset), interval };
}

/**
 * Intervals between consecutive members seen by lookups of random keys: about log2 N of them,
 * N estimated from what the first answers show. Each answer shows a run of members, so it
 * measures several intervals at once, and a key falls into an interval as often as it is wide.
 */
async function sampleIntervals(ids: IdSpace, rng: Rng, sample: (key: bigint) => Promise<RingSample>): Promise<Interval[]> {
  const seen = new Map<bigint, Interval>();
  for (let lookups = 0, wanted = 1; lookups < wanted; lookups++) {
    let answer: RingSample;
    try {
      answer = await sample(rng.bits(ids.bits));
    } catch (err) {
      if (seen.size === 0 || !isRetryable(err)) throw err;
      break; // a ring in flux may fail a lookup; what was seen so far still places the node well
    }
    const run = [answer.predecessor, ...answer.successors];
    for (let i = 0; i + 1 < run.length; i++) {
      const from = run[i]!.id;
      seen.set(from, { from, span: ids.distance(from, run[i + 1]!.id) || ids.size });
    }
    if (run.length === 1) seen.set(answer.predecessor.id, { from: answer.predecessor.id, span: ids.size });
    wanted = Math.min(MAX_SAMPLES, Math.ceil(Math.log2(estimatedMembers(ids, [...seen.values()]))) + 1);
  }
  return [...seen.values()];
}

function largestSpan(intervals: readonly Interval[]): bigint {
  return intervals.reduce((best, x) => (x.span > best ? x.span : best), 0n);
}

/**
 * Karger and Ruhl's repair for joins that raced: nodes that sampled the ring at the same instant
 * all split the same interval, so right after a join a balanced member looks again. It moves
 * (leaves, handing its range to its successor, and joins again at a balanced id) when `own` and
 * `next`, the intervals ending at it and at its successor, together take at most a share
 * p = MOVE_SHARE of the largest interval L sampled, and that interval is still whole (stillWhole).
 *
 * Moves end: merging `own` and `next` adds 2·own·next ≤ (pL)²/2 to Σ span², and the join, when
 * its own samples find that interval of L too, splits it within its middle eighth, which takes
 * at least 2 · 7/16 · 9/16 · L² = (63/64)·L²/2 away; each move lowers Σ span² by at least
 * (63/64 − p²)·L²/2, a fixed share of the mean squared (p = 7/8: 0.22 · L²/2), however moves
 * interleave with joins. The merged interval stays below L, so no move makes a new largest one.
 * At rest every pair of neighbouring intervals adds up to more than pL, so the mean is above
 * pL/2: the largest share is below 2/p = 2.29 times the mean once the samples find it (the sims
 * settle at 1.3–1.8, docs/benchmarks/balance.md). A larger p tightens that bound and weakens the
 * decrease, which vanishes at p² = 63/64.
 */
export async function worthMoving(ids: IdSpace, rng: Rng, own: bigint, next: bigint, view: PlacementView): Promise<boolean> {
  const intervals = await sampleIntervals(ids, rng, (key) => view.lookup(key));
  const largest = largestSpan(intervals);
  if ((own + next) * MOVE_SHARE.of > largest * MOVE_SHARE.parts) return false;
  return stillWhole(ids, intervals.find((x) => x.span === largest)!, view);
}

/**
 * Whether no member sits inside `interval` any more than the samples showed. They come from
 * successor lists, which learn of a join a few stabilization rounds late: a move measured against
 * an interval a newcomer has already split could merge more than the real largest interval. The
 * interval's end learns of a new predecessor at once, so it is asked.
 */
async function stillWhole(ids: IdSpace, interval: Interval, view: PlacementView): Promise<boolean> {
  const end = ids.wrap(interval.from + interval.span);
  const { owner } = await view.lookup(ids.wrap(interval.from + interval.span / 2n));
  return owner.id === end && (await view.predecessorOf(owner))?.id === interval.from;
}

/** Intervals cut at ids known to be taken. */
function splitAt(intervals: readonly Interval[], taken: readonly bigint[], ids: IdSpace): Interval[] {
  let out = [...intervals];
  for (const id of taken) {
    out = out.flatMap((x) => {
      const offset = ids.distance(x.from, id);
      if (offset === 0n || offset >= x.span) return [x];
      return [
        { from: x.from, span: offset },
        { from: id, span: x.span - offset },
      ];
    });
  }
  return out;
}

/** Ring size over the mean interval seen. */
function estimatedMembers(ids: IdSpace, intervals: readonly Interval[]): number {
  const total = intervals.reduce((sum, x) => sum + x.span, 0n);
  return Math.max(2, Number((ids.size * BigInt(intervals.length)) / total));
}

/** How evenly members split the ring: the largest and smallest share over the mean, and the Gini coefficient. */
export interface Balance {
  readonly max_share_over_mean: number;
  readonly min_share_over_mean: number;
  readonly gini: number;
}

/** Balance of members' shares of the ring (any order; they need not sum to 1 when a view is partial). */
export function balanceOf(shares: readonly number[]): Balance {
  if (shares.length === 0) return { max_share_over_mean: 0, min_share_over_mean: 0, gini: 0 };
  const sorted = [...shares].sort((a, b) => a - b);
  const total = sorted.reduce((a, b) => a + b, 0);
  const mean = total / sorted.length;
  // Gini from the sorted shares: Σ (2i − n − 1) x_i / (n Σ x).
  const weighted = sorted.reduce((sum, x, i) => sum + (2 * (i + 1) - sorted.length - 1) * x, 0);
  return {
    max_share_over_mean: mean > 0 ? sorted[sorted.length - 1]! / mean : 0,
    min_share_over_mean: mean > 0 ? sorted[0]! / mean : 0,
    gini: total > 0 ? weighted / (sorted.length * total) : 0,
  };
}

/** Shares of the ring of sorted member ids: (previous, id] over the ring size. */
export function sharesOf(sortedIds: readonly bigint[], ids: IdSpace): number[] {
  if (sortedIds.length === 1) return [1];
  return sortedIds.map((id, i) => Number(ids.distance(sortedIds[(i - 1 + sortedIds.length) % sortedIds.length]!, id)) / Number(ids.size));
}
