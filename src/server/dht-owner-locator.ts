import type { OwnerLocator } from '../cache/owner-locator.js';
import type { DhtNode } from '../node/dht-node.js';
import { recentResults } from '../runtime/memo.js';

/** URLs whose keys are remembered (the last ones asked for), and the longest remembered. */
const KEYS_REMEMBERED = 4096;
const LONGEST_REMEMBERED_URL = 2048;

/** The DHT as the cache sees it: the node's own ring for ownership, its lookups for others' keys. */
export function dhtOwnerLocator(dht: DhtNode): OwnerLocator {
  return {
    self: dht.self,
    ids: dht.ids,
    status: () => dht.status,
    // One memo for the entry's and the owner's side: a node is both.
    keyOf: recentResults(KEYS_REMEMBERED, LONGEST_REMEMBERED_URL, (url) => dht.ids.hash(url)),
    owns: (key) => dht.ring.owns(key),
    covers: (key) => dht.covers(key),
    async locate(key, options) {
      const found = await dht.lookup(key, { signal: options?.signal });
      return { owner: found.owner, predecessor: found.predecessor, successors: found.successors, hops: found.hops, path: found.path };
    },
    ping: (node, signal) => dht.ping(node, signal),
  };
}
