import { DhtError } from '../errors.js';
import { whenAborted } from '../runtime/abort.js';
import type { Clock } from '../runtime/clock.js';
import type { CallOptions, Transport } from './transport.js';

/**
 * Gives every call a deadline (FAILURE_TIMEOUT) on the node's clock, so a silent peer costs
 * one timeout and the caller moves on to its next candidate.
 */
export function withDeadline(inner: Transport, clock: Clock, timeoutMs: number): Transport {
  return {
    async call(to, method, req, options: CallOptions = {}) {
      // One controller per call, fed by the caller's signal and the deadline timer. (AbortSignal.any
      // would do the same, but allocates weak references that cost a large simulation dearly.)
      const controller = new AbortController();
      const caller = options.signal;
      if (caller?.aborted) throw caller.reason;
      const stopForwarding = whenAborted(caller, (reason) => controller.abort(reason));
      const timer = clock.setTimeout(
        () => controller.abort(new DhtError('ERR_TIMEOUT', `${method} to ${to} got no answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      try {
        return await inner.call(to, method, req, { signal: controller.signal });
      } finally {
        timer.cancel();
        stopForwarding();
      }
    },
  };
}
