import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdSpace } from '../../src/id/id-space.js';
import { balanceOf, sharesOf } from '../../src/id/placement.js';
import { ringViolations, Simulation } from '../../src/sim/simulation.js';

function balance(sim: Simulation) {
  return balanceOf(sharesOf(sim.oracle().sorted.map((n) => n.id), new IdSpace(sim.init.idBits)));
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

  it('balanced joiners that pick the same id at once end in one correct ring with distinct ids', async () => {
    const sim = new Simulation({ idStrategy: 'balanced', seed: 4 });
    await sim.buildStatic(8, { maintain: true });
    // Each sees the whole ring of 8 in its answers, so all pick the midpoint of the same largest interval.
    const joiners = await sim.joinAll(4);
    assert.ok(await sim.converge(300_000), ringViolations(sim.nodes, sim.oracle()).join('\n'));
    assert.equal(new Set(sim.nodes.map((n) => n.self.id)).size, 12);
    assert.ok(joiners.every((n) => n.status === 'READY'));
  });
});
