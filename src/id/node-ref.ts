/** A peer as the ring knows it: where it sits and how to reach it. */
export interface NodeRef {
  readonly id: bigint;
  /** `host:port` of the peer's node-to-node endpoint. */
  readonly addr: string;
}

export function sameNode(a: NodeRef | undefined, b: NodeRef | undefined): boolean {
  return a !== undefined && b !== undefined && a.id === b.id && a.addr === b.addr;
}

/** Drops repeats, keeping the first occurrence and the order. An address is one node at a time. */
export function uniqueNodes(nodes: Iterable<NodeRef>): NodeRef[] {
  const seen = new Set<string>();
  const out: NodeRef[] = [];
  for (const n of nodes) {
    if (!seen.has(n.addr)) {
      seen.add(n.addr);
      out.push(n);
    }
  }
  return out;
}
