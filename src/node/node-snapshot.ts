import type { IdSpace } from '../id/id-space.js';
import type { NodeRef } from '../id/node-ref.js';

/** What a snapshot reads of a node: its routing state and the size of its store. */
export interface SnapshotSource {
  readonly self: NodeRef;
  readonly ids: IdSpace;
  readonly status: string;
  /** Koorde's base k; null for Chord. */
  readonly degree: number | null;
  readonly ring: { readonly predecessor: NodeRef | undefined; readonly successors: readonly NodeRef[] };
  readonly router: { readonly protocol: string; pointers(): readonly NodeRef[] };
  readonly store: { readonly items: { readonly size: number } };
}

/** A node as the JSON views and the client API show it. */
export interface NodeJson {
  readonly id: string;
  readonly addr: string;
}

/** One node's state at one instant, nodes shown as `R`. */
export interface NodeSnapshot<R> {
  readonly self: R;
  readonly status: string;
  readonly protocol: string;
  readonly degree: number | null;
  readonly predecessor: R | undefined;
  readonly successors: readonly R[];
  /** Fingers (Chord) or the de Bruijn list (Koorde), without repeats. */
  readonly pointers: readonly R[];
  readonly counts: { readonly successors: number; readonly pointers: number; readonly storeItems: number };
}

/**
 * The one reading of a node's state that /health, /debug, /metrics, describe and the client
 * API's routing table share; each picks its fields. `show` says how a node appears: its ref on
 * the wire, `0x` hex in JSON (the default).
 */
export function nodeSnapshot(node: SnapshotSource): NodeSnapshot<NodeJson>;
export function nodeSnapshot<R>(node: SnapshotSource, show: (n: NodeRef) => R): NodeSnapshot<R>;
export function nodeSnapshot<R>(node: SnapshotSource, show?: (n: NodeRef) => R): NodeSnapshot<R | NodeJson> {
  const as: (n: NodeRef) => R | NodeJson = show ?? ((n) => ({ id: node.ids.toPrefixedHex(n.id), addr: n.addr }));
  const { predecessor, successors } = node.ring;
  const pointers = node.router.pointers();
  return {
    self: as(node.self),
    status: node.status,
    protocol: node.router.protocol,
    degree: node.degree,
    predecessor: predecessor && as(predecessor),
    successors: successors.map(as),
    pointers: pointers.map(as),
    counts: { successors: successors.length, pointers: pointers.length, storeItems: node.store.items.size },
  };
}
