import { Simulation } from '../../src/sim/simulation.js';
import type { DhtConfig } from './configs.js';
import { HopOracle } from './hop-oracle.js';

export interface RequestedLookup {
  /** The entry node's gRPC address (where the lookup started). */
  readonly entry: string;
  readonly key: bigint;
}

/** Per-lookup hops of the same lookups, from the simulator and from the independent oracle. */
export interface PredictedHops {
  /** koorde-sim: the production node code on a simulated ring with exactly the cluster's ids. */
  readonly sim: number[];
  /** bench/lib/hop-oracle.ts: the papers' next-hop rules over the sorted ids, no project routing code. */
  readonly oracle: number[];
}

/**
 * What koorde-sim and the hop oracle predict for the same ring: same ids, same successor list
 * length, the same lookups from the same entry nodes.
 */
export async function predictedHops(config: DhtConfig, idBits: number, ring: readonly { id: bigint; addr: string }[], lookups: readonly RequestedLookup[], successorListSize = 8): Promise<PredictedHops> {
  const sim = new Simulation({ protocol: config.protocol, degree: config.degree, idBits, successorListSize, seed: 1 });
  await sim.buildStatic(ring.map((n) => n.id));
  const oracle = new HopOracle({ bits: idBits, ids: ring.map((n) => n.id), successorListSize });
  // The simulator names its nodes itself; map the cluster's addresses through the ids.
  const byId = new Map(sim.nodes.map((n) => [n.self.id, n]));
  const byAddr = new Map(ring.map((n) => [n.addr, byId.get(n.id)!]));
  const predicted: PredictedHops = { sim: [], oracle: [] };
  for (const { entry, key } of lookups) {
    const node = byAddr.get(entry);
    if (!node) throw new Error(`no simulated node for ${entry}`);
    predicted.sim.push((await sim.clock.complete(node.lookup(key))).hops);
    const source = node.self.id;
    predicted.oracle.push(config.protocol === 'chord' ? oracle.chordHops(source, key) : oracle.koordeHops(source, key, config.degree));
  }
  for (const node of sim.nodes) node.stop();
  return predicted;
}
