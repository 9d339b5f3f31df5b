import type { DhtNode } from '../node/dht-node.js';

/**
 * Fields of the original KoordeDHT-Web-Cache's /health and /debug that scripts and dashboards
 * written for it read. They sit beside this project's own fields, which say the same in more detail.
 */

/** /health `details`: readiness of the successor list and of the de Bruijn list, in the reference's names. */
export function referenceHealthDetails(dht: DhtNode) {
  const koorde = dht.router.protocol === 'koorde';
  const deBruijnCount = koorde ? dht.router.pointers().length : 0;
  return {
    successor_ready: dht.ring.successors.length > 0,
    successor_count: dht.ring.successors.length,
    // Chord keeps no de Bruijn list: never waiting for one.
    de_bruijn_ready: !koorde || deBruijnCount >= 1,
    de_bruijn_count: deBruijnCount,
    required_de_bruijn: dht.degree ?? 0,
  };
}

/**
 * /debug `de_bruijn_list` (empty for Chord, whose pointers are under `fingers`) and
 * `routing_table_bytes`: what the routing state holds, each entry counted as its id
 * (DHT_ID_BITS rounded up to bytes) plus its address text, self included.
 */
export function referenceDebugFields(dht: DhtNode) {
  const ref = (n: { id: bigint; addr: string }) => ({ id: dht.ids.toPrefixedHex(n.id), addr: n.addr });
  const pointers = dht.router.pointers();
  const entries = [dht.self, ...(dht.ring.predecessor ? [dht.ring.predecessor] : []), ...dht.ring.successors, ...pointers];
  const idBytes = Math.ceil(dht.ids.bits / 8);
  return {
    de_bruijn_list: dht.router.protocol === 'koorde' ? pointers.map(ref) : [],
    routing_table_bytes: entries.reduce((total, n) => total + idBytes + Buffer.byteLength(n.addr), 0),
  };
}
