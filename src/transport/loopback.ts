import { DhtError } from '../errors.js';
import type { Handlers } from '../rpc/messages.js';
import type { Transport } from './transport.js';

/**
 * Answers calls a node makes to itself without the network. A ring of one node is its own
 * successor, so the same maintenance code then runs with no special case. `handlers` is read at
 * call time because a node builds its handlers from parts that need this transport first.
 */
export function withLoopback(inner: Transport, selfAddr: string, handlers: () => Handlers): Transport {
  return {
    call(to, method, req, options = {}) {
      if (to !== selfAddr) return inner.call(to, method, req, options);
      const signal = options.signal ?? new AbortController().signal;
      if (signal.aborted) return Promise.reject(signal.reason ?? new DhtError('ERR_ABORTED', 'call aborted'));
      return handlers()[method](req, { signal });
    },
  };
}
