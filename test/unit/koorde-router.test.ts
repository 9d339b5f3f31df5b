import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HopOracle } from '../../bench/lib/hop-oracle.js';
import { DigitSpace } from '../../src/id/digits.js';
import { IdSpace } from '../../src/id/id-space.js';
import type { NodeRef } from '../../src/id/node-ref.js';
import { Ring } from '../../src/ring/ring.js';
import { KoordeRouter } from '../../src/routing/koorde.js';
import type { Transport } from '../../src/transport/transport.js';
import { Simulation } from '../../src/sim/simulation.js';

const offline: Transport = {
  call: () => Promise.reject(new Error('the good start sends nothing')),
};

/** A Koorde router at node m whose successor is succ (b bits, base 2^s). */
function routerAt(bits: number, degree: number, m: bigint, succ: bigint): KoordeRouter {
  const ids = new IdSpace(bits);
  const self: NodeRef = { id: m, addr: 'm:1' };
  const ring = new Ring({ self, ids, peers: offline }, { successorListSize: 4 });
  ring.install(undefined, [{ id: succ, addr: 's:1' }]);
  return new KoordeRouter(ring, ids, new DigitSpace(ids, degree));
}

/** How many of the key's top digits the low digits of i already hold (the digits a start saves). */
function embeddedDigits(space: DigitSpace, i: bigint, key: bigint): number {
  for (let e = space.digits - 1; e > 0; e--) {
    const width = BigInt(e * space.digitBits);
    if ((i & ((1n << width) - 1n)) === key >> BigInt(space.ids.bits - e * space.digitBits)) return e;
  }
  return 0;
}

describe('routing - koorde - good start', () => {
  it('picks i inside (m, succ] that embeds as many key digits as any point there could', () => {
    // Small spaces so every candidate i can be checked by brute force.
    const cases = fc.constantFrom([12, 2], [12, 4], [12, 8], [12, 16], [10, 2]).chain(([bits, degree]) => {
      const max = (1n << BigInt(bits!)) - 1n;
      return fc.tuple(fc.constant(bits!), fc.constant(degree!), fc.bigInt({ min: 0n, max }), fc.bigInt({ min: 0n, max }), fc.bigInt({ min: 0n, max }));
    });
    fc.assert(
      fc.property(cases, ([bits, degree, m, succ, key]) => {
        fc.pre(m !== succ);
        const router = routerAt(bits, degree, m, succ);
        const space = new DigitSpace(new IdSpace(bits), degree);
        const { i, kshift } = router.start(key);
        assert.ok(space.ids.inHalfOpen(i, m, succ), `i=${i} outside (${m}, ${succ}]`);
        let best = 0;
        for (let x = space.ids.wrap(m + 1n); ; x = space.ids.wrap(x + 1n)) {
          best = Math.max(best, embeddedDigits(space, x, key));
          if (x === succ) break;
        }
        const embedded = embeddedDigits(space, i, key);
        assert.equal(embedded, best, `start embeds ${embedded} digits, ${best} possible`);
        // kshift keeps exactly the digits still to shift in: shifting them in yields the key.
        let at = i;
        let rest = kshift;
        for (let n = embedded; n < space.digits; n++) {
          at = space.shiftIn(at, space.top(rest));
          rest = space.shiftIn(rest, 0n);
        }
        assert.equal(at, key);
      }),
    );
  });

  it('follows the worked example of docs/algorithms.md: key 200 from node 40 reaches owner 230 in 2 hops', async () => {
    const sim = new Simulation({ idBits: 8, degree: 2, protocol: 'koorde' });
    await sim.buildStatic([12n, 40n, 77n, 130n, 190n, 230n]);
    const at = (id: bigint) => sim.nodes.find((n) => n.self.id === id)!;
    const router = at(40n).router as KoordeRouter;
    assert.deepEqual(router.start(200n), { i: 50n, kshift: 0n });
    assert.deepEqual(router.deBruijn.map((n) => n.id), [77n, 130n, 190n]);
    const result = await sim.clock.complete(at(40n).lookup(200n));
    assert.equal(result.owner.id, 230n);
    assert.equal(result.hops, 2);
    assert.deepEqual(
      result.path.map((h) => [h.from.id, h.to.id, h.kind, h.imaginary]),
      [
        [40n, 77n, 'debruijn', 100n],
        [77n, 190n, 'debruijn', 200n],
      ],
    );
    // The independent oracle (no project routing code) agrees, with successor lists of 8.
    assert.equal(new HopOracle({ bits: 8, ids: sim.nodes.map((n) => n.self.id), successorListSize: sim.init.successorListSize }).koordeHops(40n, 200n, 2), 2);
  });
});

describe('routing - koorde - hostile carry', () => {
  it('refuses a carry of i = kshift = 0 at the node whose interval holds 0 instead of shifting forever', () => {
    // Node 230 with successor 12: (230, 12] holds 0, and shifting 0 in keeps i at 0.
    const router = routerAt(8, 2, 230n, 12n);
    assert.throws(
      () => router.step(100n, { i: 0n, kshift: 0n }),
      (err: unknown) => (err as { code?: string }).code === 'ERR_INVALID_ARGUMENT' && /does not lead to key/.test(String(err)),
    );
  });

  it('still routes every carry that start() makes, whatever the key', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 255n }), (key) => {
        const router = routerAt(8, 2, 230n, 12n);
        if (key > 230n || key <= 12n) return; // owned by the successor: no shifting at all
        assert.equal(router.step(key, router.start(key)).done, false);
      }),
    );
  });
});
