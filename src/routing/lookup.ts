import type { IdSpace } from '../id/id-space.js';
import type { NodeRef } from '../id/node-ref.js';
import { DhtError, isRetryable } from '../errors.js';
import type { HopKind, KoordeCarry, RouteStep } from './route-step.js';

/** One move of a lookup from node to node, as a trace shows it. */
export interface Hop {
  readonly from: NodeRef;
  readonly to: NodeRef;
  readonly kind: HopKind;
  /** Koorde's imaginary node when the hop was taken. */
  readonly imaginary?: bigint;
  /** De Bruijn digit shifts the sender took locally before this hop. */
  readonly shifts: number;
  /** When the step call started, on the node's clock (epoch ms in production). */
  readonly startedAt: number;
  /** Round trip of the step call, on the node's clock. */
  readonly ms: number;
}

/** What a finished lookup tells its caller, whichever node ran it. */
export interface LookupAnswer {
  readonly owner: NodeRef;
  /** Where the lookup ended: the key's predecessor, which knew the owner. */
  readonly predecessor: NodeRef;
  /** The predecessor's successor list: owner first, then the owner's replicas. */
  readonly successors: readonly NodeRef[];
  /** Moves from node to node until the predecessor was reached. */
  readonly hops: number;
}

/** A lookup this node ran itself: the answer, and how it was reached. */
export interface LookupResult extends LookupAnswer {
  readonly key: bigint;
  readonly hopsByKind: Readonly<Record<HopKind, number>>;
  /** Candidates tried that did not answer (dead or unreachable pointers). */
  readonly fallbacks: number;
  readonly path: readonly Hop[];
  /** Calls to candidates that did not answer: the kind of hop tried and the time it cost. */
  readonly failedHops: readonly { readonly kind: HopKind; readonly ms: number }[];
}

export interface LookupDeps {
  readonly self: NodeRef;
  readonly ids: IdSpace;
  /** This node's own routing decision (no message). */
  localStep(key: bigint): RouteStep;
  /** Asks `node` for its routing decision. */
  remoteStep(node: NodeRef, key: bigint, carry: KoordeCarry | undefined, signal?: AbortSignal): Promise<RouteStep>;
  now(): number;
}

export interface LookupOptions {
  /** Moves allowed before giving up: guards against loops while the ring is inconsistent. */
  readonly maxHops: number;
  readonly signal?: AbortSignal;
}

interface Frame {
  readonly at: NodeRef;
  readonly step: Extract<RouteStep, { done: false }>;
  /** Index of the next candidate to try. */
  tried: number;
}

/**
 * Runs a lookup iteratively from this node: each node visited decides the next hop and this
 * node makes the call. A dead candidate costs one timeout and the next-best candidate of the
 * same step is tried; when a step has none left, the previous step's next candidate is —
 * the lookup never restarts from scratch.
 */
export async function lookup(key: bigint, deps: LookupDeps, options: LookupOptions): Promise<LookupResult> {
  const hopsByKind: Record<HopKind, number> = { finger: 0, successor: 0, debruijn: 0, correction: 0 };
  const path: Hop[] = [];
  const dead = new Set<string>();
  const failedHops: { kind: HopKind; ms: number }[] = [];
  const finish = (predecessor: NodeRef, successors: readonly NodeRef[]): LookupResult => {
    const owner = successors[0];
    if (!owner) throw new DhtError('ERR_INTERNAL', `node ${predecessor.addr} answered a lookup with no successor`);
    return { key, owner, predecessor, successors, hops: path.length, hopsByKind, fallbacks: dead.size, path, failedHops };
  };
  let at = deps.self;
  let step = deps.localStep(key);
  const frames: Frame[] = [];
  while (!step.done) {
    frames.push({ at, step, tried: 0 });
    for (;;) {
      const frame = frames[frames.length - 1];
      if (!frame) throw new DhtError('ERR_LOOKUP_FAILED', `lookup of ${key.toString(16)}: every candidate next hop failed`);
      const next = frame.step.candidates[frame.tried++];
      if (!next) {
        // Every way forward from here is dead. If the key falls within this node's successor
        // list, the live entries of that list already name the owner: its stabilization would
        // arrive at the same answer.
        const live = liveSuccessorsOwning(key, frame, dead, deps.ids);
        if (live) return finish(frame.at, live);
        frames.pop();
        continue;
      }
      if (path.length >= options.maxHops) {
        throw new DhtError('ERR_HOP_BUDGET', `lookup of ${key.toString(16)} used its budget of ${options.maxHops} hops`);
      }
      const started = deps.now();
      try {
        step = await deps.remoteStep(next, key, frame.step.carry, options.signal);
      } catch (err) {
        if (!isRetryable(err) || options.signal?.aborted) throw err;
        dead.add(next.addr);
        failedHops.push({ kind: frame.step.hop, ms: deps.now() - started });
        continue;
      }
      const { hop, imaginary, shifts } = frame.step;
      path.push({ from: frame.at, to: next, kind: hop, imaginary, shifts, startedAt: started, ms: deps.now() - started });
      hopsByKind[hop]++;
      at = next;
      break;
    }
  }
  return finish(at, step.successors);
}

/** The frame node's successors without the dead ones, from the key's owner on — if the key lies within them. */
function liveSuccessorsOwning(key: bigint, frame: Frame, dead: ReadonlySet<string>, ids: IdSpace): NodeRef[] | undefined {
  const live = frame.step.successors.filter((n) => !dead.has(n.addr));
  const owner = live.findIndex((n) => ids.inHalfOpen(key, frame.at.id, n.id));
  return owner < 0 ? undefined : live.slice(owner);
}
