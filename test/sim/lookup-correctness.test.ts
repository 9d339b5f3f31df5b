import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Protocol } from '../../src/routing/router.js';
import { createRing, randomKeys, wrongOwners } from '../helpers/ring.js';

const CONFIGS: { protocol: Protocol; degree: number; idBits: number }[] = [
  { protocol: 'chord', degree: 2, idBits: 66 },
  { protocol: 'koorde', degree: 2, idBits: 66 },
  { protocol: 'koorde', degree: 4, idBits: 64 },
  { protocol: 'koorde', degree: 8, idBits: 66 },
  { protocol: 'koorde', degree: 16, idBits: 64 },
];
const SEEDS = [1, 2, 3];

for (const config of CONFIGS) {
  const name = config.protocol === 'chord' ? 'chord' : `koorde k=${config.degree}`;
  describe(`routing - ${name} - every lookup finds the oracle's owner`, () => {
    for (const size of [1, 2, 3, 8, 64]) {
      it(`${size}-node rings: random keys from every node, keys at and beside every node id`, async () => {
        for (const seed of SEEDS) {
          const sim = await createRing(size, { ...config, seed });
          const ids = sim.nodes[0]!.ids;
          const edges = sim.nodes.flatMap((n) => [n.self.id, n.self.id + 1n, n.self.id - 1n]).map((k) => ids.wrap(k));
          const someNodes = sim.nodes.slice(0, 4);
          const problems = [...(await wrongOwners(sim, randomKeys(sim, 10))), ...(await wrongOwners(sim, edges, someNodes))];
          assert.deepEqual(problems, [], `seed ${seed}`);
        }
      });
    }

    it('1024-node rings, 1000 random lookups from random nodes', async () => {
      for (const seed of SEEDS) {
        const sim = await createRing(1024, { ...config, seed });
        const problems: string[] = [];
        for (let n = 0; n < 10; n++) {
          const from = sim.nodes[sim.rng.int(sim.nodes.length)]!;
          problems.push(...(await wrongOwners(sim, randomKeys(sim, 100), [from])));
        }
        assert.deepEqual(problems, [], `seed ${seed}`);
      }
    });

    it('rings built by real joins route like static ones', async () => {
      for (const seed of SEEDS) {
        const sim = await createRing(24, { ...config, seed, build: 'join' });
        await sim.clock.advance(sim.init.fixIntervalMs * 2);
        assert.deepEqual(await wrongOwners(sim, randomKeys(sim, 30)), [], `seed ${seed}`);
      }
    });
  });
}
