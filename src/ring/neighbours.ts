import type { NodeRef } from '../id/node-ref.js';

/** A node's place on the ring as it tells its neighbours. */
export interface Neighbours {
  readonly predecessor?: NodeRef;
  readonly successors: readonly NodeRef[];
}
