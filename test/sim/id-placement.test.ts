import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdSpace } from '../../src/id/id-space.js';
import { balanceOf, sharesOf } from '../../src/id/placement.js';
import { ringViolations, Simulation } from '../../src/sim/simulation.js';

function balance(sim: Simulation) {
  return balanceOf(sharesOf(sim.oracle().sorted.map((n) => n.id), new IdSpace(sim.init.idBits)));
}

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

  it('balanced: 64 real joins one by one end in one correct ring within twice the mean', async () => {
    const sim = new Simulation({ idStrategy: 'balanced', seed: 2 });
    sim.create();
    for (let i = 1; i < 64; i++) await sim.join();
    await assertOneCorrectRing(sim, 64);
    const b = balance(sim);
    assert.ok(b.max_share_over_mean <= 2, JSON.stringify(b));
  });

  it('balanced: 32 nodes joining an 8-node ring at once end in one correct ring', async () => {
    const sim = new Simulation({ idStrategy: 'balanced', seed: 4 });
    sim.create();
    for (let i = 1; i < 8; i++) await sim.join();
    await sim.joinAll(32);
    await assertOneCorrectRing(sim, 40);
  });

  it('balanced: 64 nodes joining a ring of one at once end in one correct ring', async () => {
    const sim = new Simulation({ idStrategy: 'balanced', seed: 5 });
    sim.create();
    await sim.joinAll(64);
    await assertOneCorrectRing(sim, 65);
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
