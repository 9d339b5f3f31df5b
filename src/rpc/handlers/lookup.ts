import type { LookupAnswer } from '../../routing/lookup.js';
import type { Handler } from '../messages.js';

/** A whole lookup run here on behalf of a node that cannot route yet (a joiner, a client). */
export function lookupHandler(lookup: (key: bigint, signal: AbortSignal) => Promise<LookupAnswer>): Handler<'lookup'> {
  return async ({ key }, { signal }) => {
    const { owner, predecessor, successors, hops } = await lookup(key, signal);
    return { owner, predecessor, successors, hops };
  };
}
