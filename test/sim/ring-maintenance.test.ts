import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Protocol } from '../../src/routing/router.js';
import { ringViolations, type Simulation } from '../../src/sim/simulation.js';
import { createRing, randomKeys, wrongOwners } from '../helpers/ring.js';

const STABILIZE_MS = 2000;
/**
 * Convergence bound the tests hold the ring to, in stabilization rounds: news of a change
 * travels one node back per round, through the r nodes whose successor lists name it.
 */
const roundsFor = (sim: Simulation) => sim.init.successorListSize + 2;
const PROTOCOLS: { protocol: Protocol; degree: number }[] = [
  { protocol: 'koorde', degree: 4 },
  { protocol: 'chord', degree: 2 },
];

/** Runs at most r + 2 rounds and returns how many it took to reach the oracle's ring. */
async function roundsToConverge(sim: Simulation): Promise<number> {
  const started = sim.clock.now();
  const converged = await sim.converge(roundsFor(sim) * STABILIZE_MS);
  assert.ok(converged, `not converged after ${roundsFor(sim)} rounds: ${ringViolations(sim.nodes, sim.oracle()).slice(0, 3).join('; ')}`);
  return Math.ceil((sim.clock.now() - started) / STABILIZE_MS);
}

/** Lookups are right again once pointers had one refresh round. */
async function assertRoutesCorrectly(sim: Simulation): Promise<void> {
  await sim.clock.advance(sim.init.fixIntervalMs * 1.2);
  assert.deepEqual(await wrongOwners(sim, randomKeys(sim, 10)), []);
}

for (const { protocol, degree } of PROTOCOLS) {
  describe(`ring - ${protocol} - maintenance converges to the oracle's ring`, () => {
    it('a ring of one, then two, then one again', async () => {
      const sim = await createRing(1, { protocol, degree, seed: 5, build: 'join' });
      const [first] = sim.nodes;
      assert.deepEqual(await wrongOwners(sim, randomKeys(sim, 5)), []);
      const second = await sim.join();
      await roundsToConverge(sim);
      assert.equal(first!.ring.successor.addr, second.self.addr);
      assert.equal(second.ring.successor.addr, first!.self.addr);
      await assertRoutesCorrectly(sim);
      await sim.leave(second);
      assert.equal(first!.ring.alone, true, 'the survivor is its own successor right after the leave');
      await sim.join();
      await roundsToConverge(sim);
      sim.crash(sim.nodes[1]!);
      await roundsToConverge(sim);
      assert.equal(first!.ring.alone, true);
      assert.deepEqual(await wrongOwners(sim, randomKeys(sim, 5)), []);
    });

    it('joins, graceful leaves and crashes of fewer than r adjacent nodes: converged within r + 2 rounds', async () => {
      for (const seed of [1, 2, 3]) {
        const sim = await createRing(32, { protocol, degree, seed, successorListSize: 4, build: 'join' });
        const rounds: Record<string, number> = {};

        for (let n = 0; n < 4; n++) await sim.join();
        rounds.joins = await roundsToConverge(sim);
        await assertRoutesCorrectly(sim);

        for (let n = 0; n < 4; n++) await sim.leave(sim.nodes[sim.rng.int(sim.nodes.length)]!);
        rounds.leaves = await roundsToConverge(sim);
        await assertRoutesCorrectly(sim);

        // r − 1 = 3 adjacent nodes crash at once: the successor list bridges the gap.
        const ring = sim.oracle().sorted;
        const at = sim.rng.int(ring.length);
        for (let n = 0; n < 3; n++) sim.crash(sim.node(ring[(at + n) % ring.length]!.addr)!);
        rounds.crashes = await roundsToConverge(sim);
        await assertRoutesCorrectly(sim);

        // Joins while other nodes crash: the two at once.
        const joining = sim.join();
        sim.crash(sim.nodes[sim.rng.int(sim.nodes.length - 1)]!);
        await joining;
        rounds.mixed = await roundsToConverge(sim);
        await assertRoutesCorrectly(sim);
        for (const [event, n] of Object.entries(rounds)) assert.ok(n <= roundsFor(sim), `seed ${seed}: ${event} took ${n} rounds`);
      }
    });

    it('a ring built by joins has exactly the pointers of the static construction', async () => {
      const sim = await createRing(48, { protocol, degree, seed: 9, build: 'join' });
      await sim.clock.advance(sim.init.fixIntervalMs * 2);
      const source = sim.oracle().pointerSource();
      for (const node of sim.nodes) {
        const built = node.router.pointers().map((n) => n.addr);
        await node.router.fix(source);
        assert.deepEqual(built, node.router.pointers().map((n) => n.addr), `${node.self.addr} pointers`);
      }
    });

    it('lookups route around dead pointers before upkeep replaces them', async () => {
      const sim = await createRing(256, { protocol, degree, seed: 4, maintain: true, fixIntervalMs: 1e9 });
      for (let n = 0; n < 8; n++) sim.crash(sim.nodes[sim.rng.int(sim.nodes.length)]!);
      await roundsToConverge(sim);
      const fallbacksBefore = sim.nodes.reduce((sum, node) => sum + node.stats.fallbacks, 0);
      assert.deepEqual(await wrongOwners(sim, randomKeys(sim, 5)), []);
      const fallbacks = sim.nodes.reduce((sum, node) => sum + node.stats.fallbacks, 0) - fallbacksBefore;
      assert.ok(fallbacks > 0, 'some lookups met a dead pointer and fell back');
    });
  });
}
