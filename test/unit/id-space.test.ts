import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { IdSpace } from '../../src/id/id-space.js';

const bits = fc.integer({ min: 1, max: 160 });
const spaceAndIds = (count: number) =>
  bits.chain((b) => fc.tuple(fc.constant(new IdSpace(b)), ...Array.from({ length: count }, () => fc.bigInt({ min: 0n, max: (1n << BigInt(b)) - 1n }))));

describe('id - ring intervals', () => {
  it('(a, b] holds exactly the points reached walking clockwise from a (exclusive) to b', () => {
    const ids = new IdSpace(4);
    for (let a = 0n; a < 16n; a++) {
      for (let b = 0n; b < 16n; b++) {
        const walked = new Set<bigint>();
        let x = a;
        do {
          x = (x + 1n) % 16n;
          walked.add(x);
        } while (x !== b);
        for (let x = 0n; x < 16n; x++) assert.equal(ids.inHalfOpen(x, a, b), walked.has(x), `x=${x} in (${a}, ${b}]`);
      }
    }
  });

  it('(a, a] is the whole ring and (a, a) the ring without a', () => {
    fc.assert(
      fc.property(spaceAndIds(2), ([ids, a, x]) => {
        assert.equal(ids.inHalfOpen(x, a, a), true);
        assert.equal(ids.inOpen(x, a, a), x !== a);
      }),
    );
  });

  it('every point lies in exactly one of (a, b] and (b, a] when a ≠ b', () => {
    fc.assert(
      fc.property(spaceAndIds(3), ([ids, a, b, x]) => {
        fc.pre(a !== b);
        assert.notEqual(ids.inHalfOpen(x, a, b), ids.inHalfOpen(x, b, a));
      }),
    );
  });

  it('(a, b) is (a, b] without b', () => {
    fc.assert(
      fc.property(spaceAndIds(3), ([ids, a, b, x]) => {
        assert.equal(ids.inOpen(x, a, b), ids.inHalfOpen(x, a, b) && x !== b);
      }),
    );
  });

  it('membership is invariant under rotating everything by the same amount', () => {
    fc.assert(
      fc.property(spaceAndIds(4), ([ids, a, b, x, r]) => {
        const rot = (v: bigint) => ids.wrap(v + r);
        assert.equal(ids.inHalfOpen(rot(x), rot(a), rot(b)), ids.inHalfOpen(x, a, b));
      }),
    );
  });

  it('distance walks clockwise: a + distance(a, b) = b', () => {
    fc.assert(
      fc.property(spaceAndIds(2), ([ids, a, b]) => {
        assert.equal(ids.wrap(a + ids.distance(a, b)), b);
        assert.ok(ids.distance(a, b) < ids.size);
      }),
    );
  });
});

describe('id - hashing and text', () => {
  it('keys are the top bits of SHA-1, so shorter spaces are prefixes of longer ones', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 159 }), (text, b) => {
        const short = new IdSpace(b).hash(text);
        const full = new IdSpace(160).hash(text);
        assert.equal(short, full >> BigInt(160 - b));
        assert.ok(short < 1n << BigInt(b));
      }),
    );
  });

  it('hashes a known string to its SHA-1 digest', () => {
    // sha1("abc") = a9993e364706816aba3e25717850c26c9cd0d89d
    assert.equal(new IdSpace(160).hash('abc'), 0xa9993e364706816aba3e25717850c26c9cd0d89dn);
    assert.equal(new IdSpace(16).hash('abc'), 0xa999n);
  });

  it('hex round-trips with fixed width, with or without 0x', () => {
    fc.assert(
      fc.property(spaceAndIds(1), ([ids, x]) => {
        const hex = ids.toHex(x);
        assert.equal(hex.length, Math.ceil(ids.bits / 4));
        assert.equal(ids.parseHex(hex), x);
        assert.equal(ids.parseHex('0x' + hex), x);
        assert.equal(ids.toPrefixedHex(x), '0x' + hex);
        assert.equal(ids.parseHex(ids.toPrefixedHex(x)), x);
      }),
    );
  });

  it('rejects hex that is malformed or too large for the ring', () => {
    const ids = new IdSpace(8);
    assert.throws(() => ids.parseHex('xyz'), /not a hex identifier/);
    assert.throws(() => ids.parseHex('100'), /does not fit in 8 bits/);
    assert.throws(() => new IdSpace(161), /1\.\.160/);
  });
});
