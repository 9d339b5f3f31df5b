import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HopOracle } from '../../bench/lib/hop-oracle.js';
import type { Protocol } from '../../src/routing/router.js';
import { createRing, randomKeys } from '../helpers/ring.js';

// The simulator's lookups (the production DhtNode, router and lookup driver on a memory network)
// against the independent oracle of bench/lib/hop-oracle.ts, one lookup at a time.
const CONFIGS: { protocol: Protocol; degree: number }[] = [
  { protocol: 'chord', degree: 2 },
  { protocol: 'koorde', degree: 2 },
  { protocol: 'koorde', degree: 8 },
];
const ID_BITS = 66; // a multiple of 1 and 3 bits: k = 2 and k = 8 both fit
const LOOKUPS = 300;

describe('routing - per-lookup hops equal the independent oracle', () => {
  for (const config of CONFIGS) {
    const name = config.protocol === 'chord' ? 'chord' : `koorde k=${config.degree}`;
    for (const size of [64, 1024]) {
      it(`${name}, ${size} nodes, seeds 1-3`, async () => {
        for (const seed of [1, 2, 3]) {
          const sim = await createRing(size, { ...config, idBits: ID_BITS, successorListSize: 8, seed });
          const oracle = new HopOracle({ bits: ID_BITS, ids: sim.nodes.map((n) => n.self.id), successorListSize: 8 });
          const keys = randomKeys(sim, LOOKUPS);
          const sources = keys.map(() => sim.nodes[sim.rng.int(sim.nodes.length)]!);
          const results = await sim.clock.complete(Promise.all(keys.map((key, j) => sources[j]!.lookup(key))));
          const differences: string[] = [];
          results.forEach((result, j) => {
            const source = sources[j]!.self.id;
            const key = keys[j]!;
            const want = config.protocol === 'chord' ? oracle.chordHops(source, key) : oracle.koordeHops(source, key, config.degree);
            if (result.hops !== want) differences.push(`from ${source.toString(16)} key ${key.toString(16)}: sim ${result.hops}, oracle ${want}`);
          });
          assert.deepEqual(differences, [], `seed ${seed}`);
        }
      });
    }
  }
});
