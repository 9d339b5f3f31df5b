import type { NodeJson, NodeSnapshot } from '../node/node-snapshot.js';

/**
 * Fields of the original KoordeDHT-Web-Cache's /health and /debug that scripts and dashboards
 * written for it read. They sit beside this project's own fields, which say the same in more detail.
 */

/** /health `details`: readiness of the successor list and of the de Bruijn list, in the reference's names. */
export function referenceHealthDetails(node: NodeSnapshot<NodeJson>) {
  const koorde = node.protocol === 'koorde';
  const deBruijnCount = koorde ? node.counts.pointers : 0;
  return {
    successor_ready: node.counts.successors > 0,
    successor_count: node.counts.successors,
    // Chord keeps no de Bruijn list: never waiting for one.
    de_bruijn_ready: !koorde || deBruijnCount >= 1,
    de_bruijn_count: deBruijnCount,
    required_de_bruijn: node.degree ?? 0,
  };
}

/**
 * /debug `de_bruijn_list` (empty for Chord, whose pointers are under `fingers`) and
 * `routing_table_bytes`: what the routing state holds, each entry counted as its id
 * (DHT_ID_BITS rounded up to bytes) plus its address text, self included.
 */
export function referenceDebugFields(node: NodeSnapshot<NodeJson>, idBits: number) {
  const entries = [node.self, ...(node.predecessor ? [node.predecessor] : []), ...node.successors, ...node.pointers];
  const idBytes = Math.ceil(idBits / 8);
  return {
    de_bruijn_list: node.protocol === 'koorde' ? node.pointers : [],
    routing_table_bytes: entries.reduce((total, n) => total + idBytes + Buffer.byteLength(n.addr), 0),
  };
}
