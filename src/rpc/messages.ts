import type { NodeRef } from '../id/node-ref.js';
import type { Neighbours } from '../ring/neighbours.js';
import type { LookupAnswer } from '../routing/lookup.js';
import type { KoordeCarry, RouteStep } from '../routing/route-step.js';
import type { DigestEntry, StoredItem } from '../stored-item.js';

/** What a node says about itself, for /cluster and the dashboard. */
export interface NodeDescription {
  readonly status: string;
  readonly protocol: string;
  readonly predecessor?: NodeRef;
  readonly successors: readonly NodeRef[];
  /** Fingers (Chord) or the de Bruijn list (Koorde). */
  readonly pointers: readonly NodeRef[];
  /** Figures of the layers above the DHT (cache, HTTP port), as JSON; empty in the simulator. */
  readonly figures: string;
}

/**
 * The node-to-node protocol (gRPC package dht.v1): each method's request and response, as the
 * node code sees them. Transports carry exactly these shapes.
 */
export interface DhtMethods {
  /** Liveness probe. */
  ping: { req: Record<string, never>; res: Record<string, never> };
  /** Status, routing state and figures, for views of the whole ring. */
  describe: { req: Record<string, never>; res: NodeDescription };
  /** Stabilize asks its successor for both at once (Zave's correction). */
  getNeighbours: { req: Record<string, never>; res: Neighbours };
  /** "I might be your predecessor." */
  notify: { req: { node: NodeRef }; res: Record<string, never> };
  /** One step of an iterative lookup, decided by the callee. */
  findNext: { req: { key: bigint; carry?: KoordeCarry }; res: RouteStep };
  /** A whole lookup run by the callee, for nodes that cannot route yet (joiners, clients). */
  lookup: { req: { key: bigint }; res: LookupAnswer };
  /** A neighbour leaves gracefully and hands over its own neighbours. */
  leave: { req: { node: NodeRef; predecessor?: NodeRef; successors: readonly NodeRef[] }; res: Record<string, never> };
  /** Write through this node as primary: it versions the item, stores it and replicates it. */
  storePut: { req: { key: string; value: string; deleted: boolean }; res: { version: number } };
  /** This node's own copy of a key, if any. */
  storeGet: { req: { key: string }; res: { item?: StoredItem } };
  /** Replica writes and hand-offs: keep whatever is newer. */
  storeItems: { req: { items: readonly StoredItem[] }; res: Record<string, never> };
  /** Anti-entropy for the range (from, to]: what the callee lacks, and what it has newer. */
  syncDigest: {
    req: { from: bigint; to: bigint; digest: readonly DigestEntry[] };
    res: { want: readonly string[]; newer: readonly StoredItem[] };
  };
}

export type DhtMethod = keyof DhtMethods;
export type DhtRequest<M extends DhtMethod> = DhtMethods[M]['req'];
export type DhtResponse<M extends DhtMethod> = DhtMethods[M]['res'];

export interface CallContext {
  /** Aborts when the caller gives up or the node shuts down. */
  readonly signal: AbortSignal;
}

export type Handler<M extends DhtMethod> = (req: DhtRequest<M>, ctx: CallContext) => Promise<DhtResponse<M>>;
export type Handlers = { [M in DhtMethod]: Handler<M> };
