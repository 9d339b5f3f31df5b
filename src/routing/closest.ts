import type { IdSpace } from '../id/id-space.js';
import { uniqueNodes, type NodeRef } from '../id/node-ref.js';

/**
 * The known nodes strictly between `from` and `target`, closest to `target` first: the
 * candidates for the next hop towards `target`, best first, fallbacks after.
 */
export function closestPreceding(ids: IdSpace, from: bigint, target: bigint, known: Iterable<NodeRef>): NodeRef[] {
  return uniqueNodes(known)
    .filter((n) => ids.inOpen(n.id, from, target))
    .sort((a, b) => compareBigint(ids.distance(a.id, target), ids.distance(b.id, target)));
}

function compareBigint(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
