import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DigitSpace, degreeProblem } from '../../src/id/digits.js';
import { IdSpace } from '../../src/id/id-space.js';

const digitSpaces = fc.constantFrom(1, 2, 3, 4).chain((s) =>
  fc.integer({ min: 1, max: Math.floor(160 / s) }).map((digits) => new DigitSpace(new IdSpace(digits * s), 2 ** s)),
);

describe('id - base-k digits', () => {
  it('shifting in d computes k·x + d on the ring and makes d the lowest digit', () => {
    fc.assert(
      fc.property(digitSpaces, fc.bigInt({ min: 0n }), fc.nat(), (space, raw, d) => {
        const x = space.ids.wrap(raw);
        const digit = BigInt(d % space.degree);
        const shifted = space.shiftIn(x, digit);
        assert.equal(shifted, space.ids.wrap(BigInt(space.degree) * x + digit));
        assert.equal(shifted % BigInt(space.degree), digit);
      }),
    );
  });

  it('shifting in the top digits of a key, one by one, rebuilds the key from any start', () => {
    fc.assert(
      fc.property(digitSpaces, fc.bigInt({ min: 0n }), fc.bigInt({ min: 0n }), (space, rawStart, rawKey) => {
        let i = space.ids.wrap(rawStart);
        let kshift = space.ids.wrap(rawKey);
        for (let n = 0; n < space.digits; n++) {
          i = space.shiftIn(i, space.top(kshift));
          kshift = space.shiftIn(kshift, 0n);
        }
        assert.equal(i, space.ids.wrap(rawKey));
        assert.equal(kshift, 0n);
      }),
    );
  });

  it('top is the most significant base-k digit', () => {
    const space = new DigitSpace(new IdSpace(8), 4);
    assert.equal(space.top(0b11_00_00_00n), 3n);
    assert.equal(space.top(0b01_11_11_11n), 1n);
  });

  it('accepts exactly the degrees that are powers of two dividing the id width', () => {
    assert.equal(degreeProblem(8, 66), undefined);
    assert.equal(degreeProblem(16, 64), undefined);
    assert.match(degreeProblem(6, 64)!, /power of two/);
    assert.match(degreeProblem(1, 64)!, /power of two/);
    const tooWide = degreeProblem(16, 66)!;
    assert.match(tooWide, /multiple of 4 bits, got 66/);
    assert.match(tooWide, /use degree 2, 4, 8/);
    assert.match(tooWide, /bits 64, 72, 96/);
    assert.throws(() => new DigitSpace(new IdSpace(66), 16), /multiple of 4 bits/);
  });
});
