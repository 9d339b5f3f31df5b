import type { NodeRef } from '../id/node-ref.js';
import type { Neighbours } from '../ring/neighbours.js';
import type { LookupAnswer } from './lookup.js';
import type { KoordeCarry, RouteStep } from './route-step.js';

export const PROTOCOLS = ['koorde', 'chord'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** What pointer upkeep may ask of the ring. A live node answers with real lookups; a static
 * simulated ring answers from its oracle, so both build their tables with the same code. */
export interface PointerSource {
  lookup(key: bigint, signal?: AbortSignal): Promise<LookupAnswer>;
  neighbours(node: NodeRef, signal?: AbortSignal): Promise<Neighbours>;
}

/**
 * One routing protocol's table and decisions. `step` is pure over the node's current state:
 * it never sends anything, sleeps or retries; the lookup driver does that.
 */
export interface Router {
  readonly protocol: Protocol;
  /** The routing decision for `key` at this node. */
  step(key: bigint, carry?: KoordeCarry): RouteStep;
  /** Long-range pointers (fingers or de Bruijn list), without repeats. */
  pointers(): readonly NodeRef[];
  /** False while the long-range pointers are still unknown (lookups then walk the ring). */
  ready(): boolean;
  /** Refreshes the long-range pointers; a failed lookup keeps the old pointer until next time. */
  fix(source: PointerSource, signal?: AbortSignal): Promise<void>;
}
