import type { IdSpace } from '../id/id-space.js';
import { sameNode, uniqueNodes, type NodeRef } from '../id/node-ref.js';
import { isRetryable } from '../errors.js';
import type { Transport } from '../transport/transport.js';
import type { Neighbours } from './neighbours.js';

export interface RingComponents {
  readonly self: NodeRef;
  readonly ids: IdSpace;
  /** Calls to peers, deadline included; calls to self are answered locally. */
  readonly peers: Transport;
  /** Told when a closer predecessor takes over part of this node's range (a join before it). */
  onNewPredecessor?(previous: NodeRef | undefined, current: NodeRef): void;
  /** Told when the successor took another node with this node's id: two joiners picked the same id at once. */
  onTwin?(twin: NodeRef): void;
}

/**
 * Failed checks after which a node that stopped answering is given up. Checks take turns with
 * the other lost nodes, one per round, so a split of at least 32 rounds can still heal.
 */
const LOST_NODE_CHECKS = 32;

export interface RingInit {
  /** Length r of the successor list: the ring survives r − 1 adjacent failures. */
  readonly successorListSize: number;
}

/**
 * The ring both protocols share: successor list and predecessor, kept correct by the
 * maintenance Zave proved for Chord. Correctness comes only from here; routing pointers
 * are speed.
 */
export class Ring {
  readonly self: NodeRef;
  private readonly ids: IdSpace;
  private readonly peers: Transport;
  private readonly size: number;
  private readonly onNewPredecessor: RingComponents['onNewPredecessor'];
  private readonly onTwin: RingComponents['onTwin'];
  #successors: readonly NodeRef[];
  #predecessor: NodeRef | undefined;
  /** Bumped on every change of the successor list, so a round that awaited answers can tell
   * whether its view is stale (a leave may have arrived meanwhile). */
  #version = 0;
  /**
   * Neighbours that stopped answering, at most r, checked again one per round. After a network
   * split each side closes its own ring and forgets the other; a lost node that answers again
   * is how the two rings find each other.
   */
  #lost: { node: NodeRef; checks: number }[] = [];

  constructor(components: RingComponents, init: RingInit) {
    this.self = components.self;
    this.ids = components.ids;
    this.peers = components.peers;
    this.onNewPredecessor = components.onNewPredecessor;
    this.onTwin = components.onTwin;
    this.size = init.successorListSize;
    this.#successors = [this.self];
  }

  /** Never empty: a node alone is its own successor. Never contains self otherwise. */
  get successors(): readonly NodeRef[] {
    return this.#successors;
  }

  get successor(): NodeRef {
    return this.#successors[0]!;
  }

  get predecessor(): NodeRef | undefined {
    return this.#predecessor;
  }

  /** The successor list came round to this node: it holds every other node of the ring. */
  get wrapsRound(): boolean {
    return this.#successors.length < this.size;
  }

  get alone(): boolean {
    return sameNode(this.successor, this.self);
  }

  /** key ∈ (self, successor]: the successor owns it, and this node knows that. */
  successorOwns(key: bigint): boolean {
    return this.ids.inHalfOpen(key, this.self.id, this.successor.id);
  }

  /** key ∈ (predecessor, self]; without a predecessor this node cannot tell and says no. */
  owns(key: bigint): boolean {
    if (this.alone) return true;
    return this.#predecessor !== undefined && this.ids.inHalfOpen(key, this.#predecessor.id, this.self.id);
  }

  neighbours(): Neighbours {
    return { predecessor: this.#predecessor, successors: this.#successors };
  }

  /** Installs a known-correct state directly (static construction of large simulated rings). */
  install(predecessor: NodeRef | undefined, successors: readonly NodeRef[]): void {
    this.#predecessor = predecessor;
    this.setSuccessors(successors);
  }

  /** Joins the ring that `successor` belongs to, copying its successor list. */
  async join(successor: NodeRef, signal?: AbortSignal): Promise<void> {
    const theirs = await this.peers.call(successor.addr, 'getNeighbours', {}, { signal });
    this.#predecessor = undefined;
    this.setSuccessors([successor, ...theirs.successors]);
  }

  /**
   * Asks the first live successor for its predecessor and list in one call, adopts a closer
   * successor only after it answered, then notifies the successor.
   */
  async stabilize(signal?: AbortSignal): Promise<void> {
    const version = this.#version;
    for (const candidate of this.#successors) {
      let theirs: Neighbours;
      try {
        theirs = await this.askTwice(candidate, signal);
      } catch (err) {
        if (!isRetryable(err)) throw err;
        this.rememberLost(candidate);
        continue; // dead successor: the next entry of the list takes over
      }
      const twin = [candidate, theirs.predecessor].find((n) => n && n.id === this.self.id && n.addr !== this.self.addr);
      if (twin) return this.onTwin?.(twin); // (x, x) is the whole ring: no successor can be chosen against a twin
      let successor = candidate;
      const between = theirs.predecessor;
      if (between && this.ids.inOpen(between.id, this.self.id, candidate.id) && !sameNode(between, this.self)) {
        try {
          theirs = await this.peers.call(between.addr, 'getNeighbours', {}, { signal });
          successor = between;
        } catch (err) {
          if (!isRetryable(err)) throw err; // a half-joined or dead node is not adopted
        }
      }
      if (this.#version !== version) return; // superseded while waiting; the next round starts fresh
      this.setSuccessors([successor, ...theirs.successors]);
      if (!sameNode(successor, this.self)) {
        await this.peers.call(successor.addr, 'notify', { node: this.self }, { signal }).catch((err: unknown) => {
          if (!isRetryable(err)) throw err; // the next round retries
        });
      }
      return;
    }
    // Every successor is dead: more than r − 1 adjacent failures, which the ring cannot survive.
    if (this.#version === version) this.setSuccessors([this.self]);
  }

  /**
   * Zave's rectify: take the newcomer if there is no predecessor, it is dead, or the newcomer is
   * closer — and only once the newcomer answered a ping at the address it claims, so a forged
   * Notify naming an address nobody serves cannot take this node's range.
   */
  async notify(candidate: NodeRef, signal?: AbortSignal): Promise<void> {
    if (sameNode(candidate, this.self)) return;
    const current = this.#predecessor;
    if (sameNode(current, candidate)) return;
    const closer = !current || sameNode(current, this.self) || this.ids.inOpen(candidate.id, current.id, this.self.id);
    if (!closer) {
      if (await this.isAlive(current!, signal)) return;
      this.rememberLost(current!);
    }
    if (!(await this.isAlive(candidate, signal))) return;
    // Another notify or a leave may have changed the predecessor while the pings were out.
    if (this.#predecessor !== current) return;
    this.#predecessor = candidate;
    if (closer) this.onNewPredecessor?.(current, candidate);
  }

  /** Forgets a predecessor that no longer answers, so a live one can take its place. */
  async checkPredecessor(signal?: AbortSignal): Promise<void> {
    const current = this.#predecessor;
    if (current && !(await this.isAlive(current, signal)) && this.#predecessor === current) {
      this.rememberLost(current);
      this.#predecessor = undefined;
    }
  }

  /** Checks one lost node again (see mergeThrough); one that does not answer stays lost for a while. */
  async reunite(signal?: AbortSignal): Promise<void> {
    const lost = this.#lost.shift();
    if (!lost) return;
    const answered = await this.mergeThrough(lost.node.addr, signal);
    if (!answered && ++lost.checks < LOST_NODE_CHECKS) this.#lost.push(lost);
  }

  /**
   * Asks the node at `addr` to look this node's id up in its own ring; an owner closer than this
   * node's successor means the two rings were apart (a split, or rings that formed apart). It
   * is adopted as successor exactly as stabilize adopts a closer node (after it answered), and
   * notified, so its ring's predecessor of this node adopts this node in turn: this node's old
   * ring becomes a tail of the other, which stabilization folds in. False if `addr` did not answer.
   */
  async mergeThrough(addr: string, signal?: AbortSignal): Promise<boolean> {
    const answer = await this.peers.call(addr, 'lookup', { key: this.self.id }, { signal }).catch((err: unknown) => {
      if (!isRetryable(err)) throw err;
      return undefined;
    });
    if (!answer) return false;
    const version = this.#version;
    const candidate = answer.owner;
    if (sameNode(candidate, this.self) || !this.ids.inOpen(candidate.id, this.self.id, this.successor.id)) return true;
    let theirs: Neighbours;
    try {
      theirs = await this.peers.call(candidate.addr, 'getNeighbours', {}, { signal });
    } catch (err) {
      if (!isRetryable(err)) throw err;
      return true;
    }
    if (this.#version !== version) return true; // the ring changed meanwhile; a later check retries
    this.setSuccessors([candidate, ...theirs.successors]);
    await this.peers.call(candidate.addr, 'notify', { node: this.self }, { signal }).catch((err: unknown) => {
      if (!isRetryable(err)) throw err; // the next stabilize notifies it
    });
    return true;
  }

  /** A neighbour leaves: close the gap with what it handed over. */
  onLeave(leaving: NodeRef, predecessor: NodeRef | undefined, successors: readonly NodeRef[]): void {
    if (sameNode(this.#predecessor, leaving)) {
      this.#predecessor = predecessor && !sameNode(predecessor, this.self) ? predecessor : undefined;
    }
    const at = this.#successors.findIndex((n) => sameNode(n, leaving));
    if (at >= 0) {
      this.setSuccessors([...this.#successors.slice(0, at), ...successors]);
    }
  }

  /** Tells both neighbours this node is leaving, handing each what it needs to close the gap. */
  async leave(signal?: AbortSignal): Promise<void> {
    if (this.alone) return;
    const message = { node: this.self, predecessor: this.#predecessor, successors: this.#successors };
    const targets = uniqueNodes([this.successor, ...(this.#predecessor ? [this.#predecessor] : [])]);
    await Promise.all(
      targets.map((n) =>
        this.peers.call(n.addr, 'leave', message, { signal }).catch((err: unknown) => {
          if (!isRetryable(err)) throw err; // a dead neighbour needs no notice
        }),
      ),
    );
    this.setSuccessors([this.self]);
    this.#predecessor = undefined;
  }

  /** A successor is given up only after two failed calls in a row: one lost message is not a death. */
  private async askTwice(node: NodeRef, signal?: AbortSignal): Promise<Neighbours> {
    try {
      return await this.peers.call(node.addr, 'getNeighbours', {}, { signal });
    } catch (err) {
      if (!isRetryable(err)) throw err;
      return await this.peers.call(node.addr, 'getNeighbours', {}, { signal });
    }
  }

  private rememberLost(node: NodeRef): void {
    if (sameNode(node, this.self) || this.#lost.some((l) => sameNode(l.node, node))) return;
    this.#lost.push({ node, checks: 0 });
    if (this.#lost.length > this.size) this.#lost.shift();
  }

  private async isAlive(node: NodeRef, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.peers.call(node.addr, 'ping', {}, { signal });
      return true;
    } catch (err) {
      if (!isRetryable(err)) throw err;
      return false;
    }
  }

  /** Keeps the candidates in order, cut where the ring comes back to this node, without repeats, at most r. */
  private setSuccessors(candidates: readonly NodeRef[]): void {
    const list: NodeRef[] = [];
    for (const n of uniqueNodes(candidates)) {
      if (sameNode(n, this.self) || list.length === this.size) break;
      list.push(n);
    }
    this.#successors = list.length ? list : [this.self];
    this.#version++;
  }
}
