import { Simulation } from '../../src/sim/simulation.js';
import type { DhtConfig } from './configs.js';

export interface RequestedLookup {
  /** The entry node's gRPC address (where the lookup started). */
  readonly entry: string;
  readonly key: bigint;
}

/**
 * What koorde-sim predicts for the same ring: a simulated ring with exactly the cluster's ids
 * (and successor list length), running the same lookups from the same entry nodes.
 */
export async function simulatedHops(config: DhtConfig, idBits: number, ring: readonly { id: bigint; addr: string }[], lookups: readonly RequestedLookup[], successorListSize = 8): Promise<number> {
  const sim = new Simulation({ protocol: config.protocol, degree: config.degree, idBits, successorListSize, seed: 1 });
  await sim.buildStatic(ring.map((n) => n.id));
  // The simulator names its nodes itself; map the cluster's addresses through the ids.
  const byId = new Map(sim.nodes.map((n) => [n.self.id, n]));
  const byAddr = new Map(ring.map((n) => [n.addr, byId.get(n.id)!]));
  let hops = 0;
  for (const { entry, key } of lookups) {
    const node = byAddr.get(entry);
    if (!node) throw new Error(`no simulated node for ${entry}`);
    hops += (await sim.clock.complete(node.lookup(key))).hops;
  }
  return lookups.length ? hops / lookups.length : 0;
}
