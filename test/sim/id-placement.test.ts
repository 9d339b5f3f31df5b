import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdSpace } from '../../src/id/id-space.js';
import { balanceOf, MAX_MOVES, sharesOf } from '../../src/id/placement.js';
import { ringViolations, Simulation } from '../../src/sim/simulation.js';

function balance(sim: Simulation) {
  return balanceOf(sharesOf(sim.oracle().sorted.map((n) => n.id), new IdSpace(sim.init.idBits)));
}

/**
 * Moves wait for storage repair rounds (a check comes at least 1.5 of them after a join): with
 * repair every 6 s instead of 20 s, the checks end after a third of the simulated time, and the
 * tests run three times faster with the same moves to make.
 */
const QUICK_REPAIR = { storageFixIntervalMs: 6000 };

async function assertOneCorrectRing(sim: Simulation, size: number) {
  assert.ok(await sim.converge(600_000), ringViolations(sim.nodes, sim.oracle()).join('\n'));
  assert.equal(sim.nodes.length, size);
  assert.equal(new Set(sim.nodes.map((n) => n.self.id)).size, size, 'every node has its own id');
}

describe('sim - node id strategies', () => {
  it('balanced: 1024 nodes placed one by one keep every share within twice the mean', async () => {
    const sim = new Simulation({ idStrategy: 'balanced', seed: 11 });
    await sim.buildStatic(1024);
    const b = balance(sim);
    assert.ok(b.max_share_over_mean <= 2, JSON.stringify(b));
    const hashed = new Simulation({ idStrategy: 'hash', seed: 11 });
    await hashed.buildStatic(1024);
    assert.ok(balance(hashed).max_share_over_mean > 3, 'random ids are the skewed baseline');
  });

  it('ordinal: a power-of-two ring splits the key space exactly', async () => {
    const sim = new Simulation({ idStrategy: 'ordinal' });
    await sim.buildStatic(1024);
    assert.equal(balance(sim).max_share_over_mean, 1);
  });

  it('balanced: 32 real joins one by one end in one correct ring within twice the mean', async () => {
    const sim = new Simulation({ idStrategy: 'balanced', seed: 2, ...QUICK_REPAIR });
    sim.create();
    for (let i = 1; i < 32; i++) await sim.join();
    assert.ok(await sim.settlePlacement(10_000_000), 'moves end');
    assert.ok(sim.moves < 32, `${sim.moves} moves: joins one by one leave few slivers`);
    await assertOneCorrectRing(sim, 32);
    const b = balance(sim);
    assert.ok(b.max_share_over_mean <= 2, JSON.stringify(b));
  });

  it('balanced: 16 nodes joining a 4-node ring at once move until every share is within twice the mean', async () => {
    const sim = new Simulation({ idStrategy: 'balanced', seed: 4, ...QUICK_REPAIR });
    sim.create();
    for (let i = 1; i < 4; i++) await sim.join();
    await sim.joinAll(16);
    assert.ok(balance(sim).max_share_over_mean > 2, 'racing joiners split the same intervals');
    assert.ok(await sim.settlePlacement(10_000_000), 'moves end');
    await assertOneCorrectRing(sim, 20);
    assert.ok(sim.moves > 0);
    const b = balance(sim);
    assert.ok(b.max_share_over_mean <= 2, JSON.stringify(b));
  });

  it('balanced: 32 nodes joining a ring of one at once move until every share is within twice the mean, a bounded number of times', async () => {
    const sim = new Simulation({ idStrategy: 'balanced', seed: 5, ...QUICK_REPAIR });
    sim.create();
    await sim.joinAll(32);
    assert.ok(balance(sim).max_share_over_mean > 4, 'all split the one interval there was');
    assert.ok(await sim.settlePlacement(10_000_000), 'moves end');
    await assertOneCorrectRing(sim, 33);
    assert.ok(sim.moves > 0 && sim.moves <= 32 * MAX_MOVES, `${sim.moves} moves`);
    const b = balance(sim);
    assert.ok(b.max_share_over_mean <= 2, JSON.stringify(b));
  });

  for (const { seed, joiners, putsDuringJoins } of [
    { seed: 7, joiners: 15, putsDuringJoins: false },
    { seed: 8, joiners: 16, putsDuringJoins: true },
  ]) {
    it(`balanced: nodes that move to rebalance give away everything they hold, so no acknowledged put is lost (seed ${seed}, puts ${putsDuringJoins ? 'while' : 'after'} ${joiners} join)`, async () => {
      const sim = new Simulation({ idStrategy: 'balanced', seed, ...QUICK_REPAIR });
      sim.create();
      const joining = sim.joinAll(joiners);
      if (!putsDuringJoins) await joining;
      else await sim.clock.advance(500); // the ring is in flux: some puts fail, the acknowledged ones must stay
      const keys = Array.from({ length: 200 }, (_, i) => `key-${i}`);
      const outcomes = await sim.clock.complete(Promise.allSettled(keys.map((key) => sim.nodes[sim.rng.int(sim.nodes.length)]!.store.put(key, `value of ${key}`))));
      await joining;
      const written = keys.filter((_, i) => outcomes[i]!.status === 'fulfilled');
      assert.ok(written.length > 50, `${written.length} puts acknowledged`);
      assert.ok(await sim.settlePlacement(10_000_000), 'moves end');
      await assertOneCorrectRing(sim, joiners + 1);
      assert.ok(sim.moves > 0, 'some joiner moved');
      const reader = sim.nodes[0]!;
      for (const key of written) assert.equal(await sim.clock.complete(reader.store.get(key)), `value of ${key}`, key);
    });
  }

  it('balanced, static model: 2048 ids picked at once by racing joiners settle within twice the mean', async () => {
    const sim = new Simulation({ idStrategy: 'balanced', seed: 12 });
    await sim.buildStatic(2048, { arrival: 'at-once' });
    const b = balance(sim);
    assert.ok(b.max_share_over_mean <= 2, JSON.stringify(b));
    assert.ok(sim.moves > 0);
  });

  it('two joiners forced onto the same id at once: the one the ring did not take leaves and joins again elsewhere', async () => {
    const sim = new Simulation({ idStrategy: 'balanced', seed: 6 });
    sim.create();
    for (let i = 1; i < 8; i++) await sim.join();
    await sim.converge(60_000);
    const twinId = sim.rng.bits(sim.init.idBits);
    const [a, b] = await sim.joinAll(2, [twinId, twinId]);
    await assertOneCorrectRing(sim, 10);
    assert.equal(sim.restarts, 1);
    const kept = sim.nodes.filter((n) => n.self.id === twinId);
    assert.equal(kept.length, 1, 'exactly one node holds the contested id');
    assert.ok([a, b].some((n) => n!.status === 'LEAVING'), 'the other left the normal way');
  });
});
