import { sleep, type Clock } from '../runtime/clock.js';
import type { Transport } from './transport.js';

/**
 * Adds a fixed delay before every node-to-node call (DHT_HOP_DELAY), so that on one machine
 * hop counts show up in latency as they would across machines (netem is not available).
 */
export function withDelay(inner: Transport, clock: Clock, delayMs: number): Transport {
  return {
    async call(to, method, req, options = {}) {
      await sleep(clock, delayMs, options.signal);
      return inner.call(to, method, req, options);
    },
  };
}
