import type { NodeRef } from '../id/node-ref.js';

/** How a lookup moved from one node to the next. */
export type HopKind = 'finger' | 'successor' | 'debruijn' | 'correction';

/** Koorde's lookup state that travels with each hop: the imaginary node and the digits left. */
export interface KoordeCarry {
  readonly i: bigint;
  /** The key's digits not yet shifted into i, top-aligned. */
  readonly kshift: bigint;
}

/** One routing decision taken by one node. */
export type RouteStep =
  | {
      readonly done: true;
      /** The deciding node's successor list: the key's owner first, then its replicas. */
      readonly successors: readonly NodeRef[];
    }
  | {
      readonly done: false;
      readonly hop: HopKind;
      /** Next hops, best first; the rest are fallbacks if the best is dead. */
      readonly candidates: readonly NodeRef[];
      /** Koorde state to hand to the next node; absent = the next node starts afresh. */
      readonly carry?: KoordeCarry;
      /** De Bruijn digit shifts this node took locally before forwarding. */
      readonly shifts: number;
      /** The imaginary node after those shifts (Koorde only), for tracing. */
      readonly imaginary?: bigint;
      /** The deciding node's successor list: if every candidate is dead and the key falls
       * within this list, the deciding node is in effect the key's predecessor. */
      readonly successors: readonly NodeRef[];
    };
