import type { Protocol } from '../../src/routing/router.js';
import { Simulation, type SimulationInit } from '../../src/sim/simulation.js';

export interface RingOptions extends Partial<SimulationInit> {
  readonly protocol?: Protocol;
  /** static: converged state computed directly; join: each node joins through a live one. */
  readonly build?: 'static' | 'join';
  /** Start periodic upkeep on a static ring (joined rings always run it). */
  readonly maintain?: boolean;
}

/** A simulated ring of `n` real nodes, ready for lookups. */
export async function createRing(n: number, options: RingOptions = {}): Promise<Simulation> {
  const { build = 'static', maintain = false, ...init } = options;
  const sim = new Simulation(init);
  if (build === 'static') {
    await sim.buildStatic(n, { maintain });
    return sim;
  }
  sim.create();
  for (let i = 1; i < n; i++) await sim.join();
  if (!(await sim.converge(300_000))) throw new Error(`ring of ${n} did not converge (seed ${sim.init.seed})`);
  return sim;
}

/** Looks every key up from every given node and returns the mismatches with the oracle. */
export async function wrongOwners(sim: Simulation, keys: readonly bigint[], from = sim.nodes): Promise<string[]> {
  const oracle = sim.oracle();
  const problems: string[] = [];
  await sim.clock.complete(
    Promise.all(
      from.flatMap((node) =>
        keys.map(async (key) => {
          const result = await node.lookup(key);
          const want = oracle.ownerOf(key);
          if (result.owner.addr !== want.addr) {
            problems.push(`from ${node.self.addr} key ${key.toString(16)}: got ${result.owner.addr}, want ${want.addr}`);
          }
        }),
      ),
    ),
  );
  return problems;
}

export function randomKeys(sim: Simulation, count: number): bigint[] {
  return Array.from({ length: count }, () => sim.rng.bits(sim.init.idBits));
}

/** Keys that read back wrong through `via` (every live node when omitted). */
export async function unreadable(sim: Simulation, written: Map<string, string>, via = sim.nodes): Promise<string[]> {
  const bad: string[] = [];
  await sim.clock.complete(
    Promise.all(
      via.flatMap((node) =>
        [...written].map(async ([key, value]) => {
          const got = await node.store.get(key).catch((err: Error & { code?: string }) => err.code ?? err.message);
          if (got !== value) bad.push(`${key} via ${node.self.addr}: ${got}`);
        }),
      ),
    ),
  );
  return bad;
}
