import type { IdSpace } from '../id/id-space.js';
import type { NodeRef } from '../id/node-ref.js';

/**
 * Data held by key range that follows ownership: the KV store's pairs, the cache's objects. The
 * rules of when and what moves are written once, below; a holder only says what it has in a
 * range and how to give it away.
 */
export interface RangeData<T> {
  /** What this node holds for ids in (from, to]. */
  inRange(from: bigint, to: bigint): readonly T[];
  /** Gives items to the node that owns them now. */
  give(to: NodeRef, items: readonly T[], signal?: AbortSignal): Promise<void>;
  /**
   * Items given to a new predecessor that this node no longer keeps. Without it they stay
   * (the KV store keeps them as a replica until repair decides).
   */
  release?(items: readonly T[]): void;
  /**
   * Leaving, once its own range (ownFrom, self] went to the successor: gives away what else it
   * holds. Without it the rest is dropped (the cache holds nothing outside its range for long).
   */
  giveRest?(ownFrom: bigint, signal?: AbortSignal): Promise<void>;
}

/** The ring as a hand-off sees it. */
export interface RangeView {
  readonly self: NodeRef;
  readonly ids: IdSpace;
  /** Undefined while unknown: this node's range is unknown too, and nothing moves. */
  predecessor(): NodeRef | undefined;
  /** Undefined when alone. */
  successor(): NodeRef | undefined;
}

/**
 * A node joined between `previous` and this one: it owns (previous, joined] now and gets what
 * lies there. Resolves to the number of items moved.
 */
export async function moveToNewPredecessor<T>(
  view: RangeView,
  data: RangeData<T>,
  previous: NodeRef | undefined,
  joined: NodeRef,
  signal?: AbortSignal,
): Promise<number> {
  if (!previous || !view.ids.inOpen(joined.id, previous.id, view.self.id)) return 0;
  const moving = data.inRange(previous.id, joined.id);
  if (moving.length === 0) return 0;
  await data.give(joined, moving, signal);
  data.release?.(moving);
  return moving.length;
}

/** This node is leaving: its successor owns its range (predecessor, self] once it is gone. */
export async function handOffToSuccessor<T>(view: RangeView, data: RangeData<T>, signal?: AbortSignal): Promise<number> {
  const successor = view.successor();
  const predecessor = view.predecessor();
  if (!successor || !predecessor) return 0;
  const owned = data.inRange(predecessor.id, view.self.id);
  if (owned.length > 0) await data.give(successor, owned, signal);
  await data.giveRest?.(predecessor.id, signal);
  return owned.length;
}
