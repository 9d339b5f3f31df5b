import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { measureLookups } from '../../src/sim/measure.js';
import { createRing } from '../helpers/ring.js';

// docs/algorithms.md: mean hops of a stable 1024-node ring, measured with successor lists of
// ⌈log2 N⌉ = 10 entries (the corrections Koorde needs for large k depend on that length).
const N = 1024;
const KOORDE_BANDS = { 2: 11.5, 8: 4.9, 16: 4.3 } as const;

describe('routing - hop counts of a 1024-node static ring', () => {
  for (const [degree, band] of Object.entries(KOORDE_BANDS)) {
    it(`koorde k=${degree} is within 15% of the hop band (docs/algorithms.md) (${band})`, async () => {
      const sim = await createRing(N, { protocol: 'koorde', degree: Number(degree), idBits: 96, successorListSize: 10, seed: 11 });
      const { hops, failures } = await measureLookups(sim, 2000);
      assert.equal(failures, 0);
      assert.ok(Math.abs(hops.mean - band) <= 0.15 * band, `mean ${hops.mean.toFixed(2)} hops, band ${band}`);
    });
  }

  it('chord is within 15% of ½·log2 N', async () => {
    const sim = await createRing(N, { protocol: 'chord', idBits: 96, successorListSize: 10, seed: 11 });
    const { hops, failures } = await measureLookups(sim, 2000);
    const theory = 0.5 * Math.log2(N);
    assert.equal(failures, 0);
    assert.ok(Math.abs(hops.mean - theory) <= 0.15 * theory, `mean ${hops.mean.toFixed(2)} hops, ½·log2 N = ${theory}`);
  });

  it('koorde k=16 keeps a constant number of long pointers while chord keeps ~log2 N', async () => {
    const koorde = await createRing(N, { protocol: 'koorde', degree: 16, idBits: 96, seed: 11 });
    const chord = await createRing(N, { protocol: 'chord', idBits: 96, seed: 11 });
    const mean = (counts: number[]) => counts.reduce((a, b) => a + b, 0) / counts.length;
    // d and the 16 nodes after it; one fewer where the node itself falls in that window.
    assert.ok(koorde.nodes.every((n) => [16, 17].includes(n.router.pointers().length)));
    const fingers = mean(chord.nodes.map((n) => n.router.pointers().length));
    assert.ok(fingers > 0.8 * Math.log2(N) && fingers < 1.6 * Math.log2(N), `${fingers} distinct fingers`);
  });
});
