import type { ResponseHead } from './cache-wire.js';
import type { Variant } from './stored-variant.js';
import type { CacheRequest } from './owner-cache.js';

export interface ForwardedResponse {
  readonly head: ResponseHead;
  /** The body as the owner sends it. */
  readonly chunks: AsyncIterable<Buffer>;
  /** The whole body, when it had all arrived with the head (then `chunks` need not be read). */
  readonly body?: Buffer;
}

export interface ForwardOptions {
  /** The entry chose this owner from its route cache: the owner must confirm it owns the key. */
  readonly fromRouteCache: boolean;
  /** Aborts when the entry's client has gone. */
  readonly signal?: AbortSignal;
}

/**
 * The calls an entry node makes to other owners (groupcache's ProtoGetter), whatever carries
 * them: the network in a node, a map of endpoints in tests and simulations. A failure that
 * the peer caused (it is gone, slow, or answered an error) is a DhtError; anything else is a
 * local bug and must not be retried as if the peer had died.
 */
export interface CachePeers {
  /** Forwards a request to its owner; resolves once the owner sent the response head. */
  fetch(addr: string, req: CacheRequest, options: ForwardOptions): Promise<ForwardedResponse>;
  /** Hands objects to their new owner; `signal` (the node's shutdown) abandons the rest. */
  store(addr: string, variants: readonly Variant[], signal?: AbortSignal): Promise<void>;
  /** Tells an owner to forget a URL. */
  invalidate(addr: string, url: string): Promise<void>;
  close(): void;
}
