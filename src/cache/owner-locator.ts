import type { IdSpace } from '../id/id-space.js';
import type { NodeRef } from '../id/node-ref.js';
import type { Hop } from '../routing/lookup.js';

/** Where a key lives right now, as a lookup found it. */
export interface OwnerRoute {
  readonly owner: NodeRef;
  /** The owner's range is (predecessor.id, owner.id]. */
  readonly predecessor: NodeRef;
  /** The owner first, then the nodes that take its range over if it dies. */
  readonly successors: readonly NodeRef[];
  /** DHT hops the lookup took. */
  readonly hops: number;
  readonly path: readonly Hop[];
}

/**
 * What the cache needs of the DHT, and nothing more (groupcache's PeerPicker): who this node
 * is, whether it serves, which node owns a URL's key and who follows it. Production adapts the
 * DhtNode to it; tests pass a fake ring.
 */
export interface OwnerLocator {
  readonly self: NodeRef;
  readonly ids: IdSpace;
  /** READY or DEBRUIJN_NOT_READY serve requests; NOT_INITIALIZED and LEAVING do not. */
  status(): string;
  /**
   * The key a URL is owned by. Asked on every request, by the entry and by the owner alike: hashing
   * cost more than the rest of a local hit's lookup, so implementations remember recent URLs' keys.
   */
  keyOf(url: string): bigint;
  /** Whether the key is in this node's range right now. */
  owns(key: bigint): boolean;
  /** Whether this node owns or replicates the key: objects peers may hand it. */
  covers(key: bigint): Promise<boolean>;
  /** Looks the key's owner up in the DHT. */
  locate(key: bigint, options?: { readonly signal?: AbortSignal }): Promise<OwnerRoute>;
  /** Round trip to a node, in ms (the forward hop of a trace). */
  ping(node: NodeRef, signal?: AbortSignal): Promise<number>;
}
