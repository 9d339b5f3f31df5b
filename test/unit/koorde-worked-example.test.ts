import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HopOracle } from '../../bench/lib/hop-oracle.js';
import { KoordeRouter } from '../../src/routing/koorde.js';
import { Simulation } from '../../src/sim/simulation.js';

// The worked example of docs/algorithms.md: 8-bit ids, k = 2, six nodes, key 200 looked up from 40.
const IDS = [12n, 40n, 77n, 130n, 190n, 230n];

describe('routing - koorde - the worked example of docs/algorithms.md', () => {
  it('40 starts at i = 50, reaches 77 then 190 by de Bruijn hops, and finds owner 230 in 2 hops', async () => {
    const sim = new Simulation({ protocol: 'koorde', degree: 2, idBits: 8, successorListSize: 8 });
    await sim.buildStatic(IDS);
    const source = sim.nodes.find((n) => n.self.id === 40n)!;
    // (40, 77] holds 50 = 110010b, the key's top six digits: two digits (00) are left to shift in.
    assert.ok(source.router instanceof KoordeRouter);
    assert.deepEqual(source.router.start(200n), { i: 50n, kshift: 0n });
    const result = await sim.clock.complete(source.lookup(200n));
    assert.equal(result.owner.id, 230n);
    assert.equal(result.hops, 2);
    assert.deepEqual(
      result.path.map((h) => [h.from.id, h.to.id, h.kind, h.imaginary]),
      [
        [40n, 77n, 'debruijn', 100n],
        [77n, 190n, 'debruijn', 200n],
      ],
    );
    assert.equal(new HopOracle({ bits: 8, ids: IDS, successorListSize: 8 }).koordeHops(40n, 200n, 2), 2);
  });
});
