import { sameNode, type NodeRef } from '../id/node-ref.js';
import { isRetryable } from '../errors.js';
import { balanceOf, sharesOf, type Balance } from '../id/placement.js';
import type { DhtNode } from '../node/dht-node.js';
import type { NodeDescription } from '../rpc/messages.js';

/** The most members /cluster walks to, so that even a very large ring answers in well under a second per 100 nodes. */
export const MAX_CLUSTER_MEMBERS = 1024;
/** Describe calls in flight at once while gathering every member's status. */
const PARALLEL_DESCRIBES = 64;

export interface ClusterMember {
  readonly id: string;
  readonly addr: string;
  /** Share of the key space this member owns: (predecessor, id] over the ring size. */
  readonly share: number;
  /** The node's own status, or UNREACHABLE when it did not answer. */
  readonly status: string;
  readonly predecessor: string | null;
  readonly successors: readonly string[];
  readonly pointers: readonly string[];
  /** What the node reports beyond the DHT (HTTP port, cache and request figures). */
  readonly figures: Record<string, unknown>;
}

export interface ClusterView {
  readonly self: { readonly id: string; readonly addr: string };
  readonly protocol: string;
  /** Koorde's base k; null for Chord. */
  readonly degree: number | null;
  readonly bits: number;
  readonly size: number;
  /** True when the walk stopped at MAX_CLUSTER_MEMBERS before coming round. */
  readonly truncated: boolean;
  /** How evenly the members found split the key space. */
  readonly balance: Balance;
  readonly members: readonly ClusterMember[];
}

/**
 * The ring as seen from this node: members found by walking successor lists (r nodes per
 * call, so a 1000-node ring takes ~N/r sequential calls), then each member described in
 * parallel for its status, pointers and figures.
 */
export async function clusterView(dht: DhtNode, signal?: AbortSignal): Promise<ClusterView> {
  const described = new Map<string, NodeDescription | undefined>();
  const members: NodeRef[] = [dht.self];
  let truncated = false;
  // Walk from the newest member found; if it does not answer, an earlier one's successor list
  // (r entries long) reaches past it.
  walk: for (;;) {
    for (let at = members.length - 1; at >= 0; at--) {
      const member = members[at]!;
      if (described.has(member.addr)) continue;
      const description = await describe(dht, member, signal);
      described.set(member.addr, description);
      const fresh = (description?.successors ?? []).filter((n) => !sameNode(n, dht.self) && !members.some((m) => m.addr === n.addr));
      if (fresh.length === 0) continue;
      for (const n of fresh) if (members.length < MAX_CLUSTER_MEMBERS) members.push(n);
      if (members.length >= MAX_CLUSTER_MEMBERS) {
        truncated = true;
        break walk;
      }
      continue walk;
    }
    break; // every member found has been asked: the walk came round the ring
  }
  const pending = members.filter((m) => !described.has(m.addr));
  for (let i = 0; i < pending.length; i += PARALLEL_DESCRIBES) {
    const batch = pending.slice(i, i + PARALLEL_DESCRIBES);
    const answers = await Promise.all(batch.map((m) => describe(dht, m, signal)));
    batch.forEach((m, j) => described.set(m.addr, answers[j]));
  }
  const sorted = [...members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const hex = (id: bigint) => dht.ids.toPrefixedHex(id);
  const shares = sharesOf(sorted.map((m) => m.id), dht.ids);
  return {
    self: { id: hex(dht.self.id), addr: dht.self.addr },
    protocol: dht.router.protocol,
    degree: dht.degree,
    bits: dht.ids.bits,
    size: sorted.length,
    truncated,
    balance: balanceOf(shares),
    members: sorted.map((m, i) => {
      const share = shares[i]!;
      const d = described.get(m.addr);
      return {
        id: hex(m.id),
        addr: m.addr,
        share,
        status: d?.status ?? 'UNREACHABLE',
        predecessor: d?.predecessor?.addr ?? null,
        successors: d?.successors.map((n) => n.addr) ?? [],
        pointers: d?.pointers.map((n) => n.addr) ?? [],
        figures: parseFigures(d?.figures),
      };
    }),
  };
}

async function describe(dht: DhtNode, node: NodeRef, signal?: AbortSignal): Promise<NodeDescription | undefined> {
  try {
    return await dht.describePeer(node, signal);
  } catch (err) {
    if (!isRetryable(err)) throw err;
    return undefined; // reported as UNREACHABLE
  }
}

/** A member's figures; a member sending something unreadable shows none rather than failing the view. */
function parseFigures(text: string | undefined): Record<string, unknown> {
  try {
    const figures: unknown = text ? JSON.parse(text) : {};
    return figures && typeof figures === 'object' ? (figures as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
