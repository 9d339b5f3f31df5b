import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRng } from '../../src/runtime/rng.js';
import { Zipf } from '../../src/workload/zipf.js';
import { chiSquare, chiSquareQuantile, normalQuantile } from '../helpers/stats.js';

const RANKS = 100;
const SAMPLES = 200_000;

function counts(zipf: Zipf, seed: number): number[] {
  const rng = seededRng(seed);
  const seen = new Array<number>(zipf.n).fill(0);
  for (let i = 0; i < SAMPLES; i++) seen[zipf.sample(rng) - 1]!++;
  return seen;
}

function expected(zipf: Zipf): number[] {
  return Array.from({ length: zipf.n }, (_, i) => zipf.pmf(i + 1) * SAMPLES);
}

describe('workload - zipf', () => {
  it('has a pmf that sums to 1 and falls as k^-s', () => {
    for (const s of [0.5, 0.9, 1, 1.2, 2]) {
      const zipf = new Zipf(1000, s);
      let total = 0;
      for (let k = 1; k <= 1000; k++) total += zipf.pmf(k);
      assert.ok(Math.abs(total - 1) < 1e-12, `s=${s}: Σ pmf = ${total}`);
      assert.ok(Math.abs(zipf.pmf(1) / zipf.pmf(10) - 10 ** s) < 1e-9);
      assert.equal(zipf.pmf(0), 0);
      assert.equal(zipf.pmf(1001), 0);
    }
  });

  it('gets its chi-square quantile right (Wilson–Hilferty against known table values)', () => {
    assert.ok(Math.abs(normalQuantile(0.975) - 1.959964) < 1e-4);
    // Table values: χ²(0.999; 10) = 29.588, χ²(0.999; 50) = 86.661.
    assert.ok(Math.abs(chiSquareQuantile(0.999, 10) - 29.588) < 0.3);
    assert.ok(Math.abs(chiSquareQuantile(0.999, 50) - 86.661) < 0.3);
  });

  for (const s of [0.9, 1.2, 2]) {
    it(`samples Zipf(${s}) over ${RANKS} ranks with the right frequencies (chi-square, seeded)`, () => {
      const zipf = new Zipf(RANKS, s);
      const seed = 1000 + Math.round(s * 10);
      const { statistic, df } = chiSquare(counts(zipf, seed), expected(zipf));
      const bound = chiSquareQuantile(0.999, df);
      assert.ok(df >= 20, `${df} degrees of freedom: too few bins to say much`);
      assert.ok(statistic < bound, `seed ${seed}: χ² = ${statistic.toFixed(1)} ≥ ${bound.toFixed(1)} (0.999 quantile, df ${df})`);
    });
  }

  it('the same test tells neighbouring exponents apart (so it has power)', () => {
    const sampled = counts(new Zipf(RANKS, 1.2), 7);
    const { statistic, df } = chiSquare(sampled, expected(new Zipf(RANKS, 1.1)));
    assert.ok(statistic > chiSquareQuantile(0.999, df), `χ² = ${statistic.toFixed(1)}`);
  });

  it('draws every rank in range and repeats a run from its seed', () => {
    const zipf = new Zipf(5, 0.9);
    const a = seededRng(3);
    const b = seededRng(3);
    for (let i = 0; i < 10_000; i++) {
      const k = zipf.sample(a);
      assert.ok(k >= 1 && k <= 5);
      assert.equal(k, zipf.sample(b));
    }
    assert.equal(new Zipf(1, 1.2).sample(a), 1);
  });

  it('rejects exponents ≤ 0 and empty rank sets', () => {
    assert.throws(() => new Zipf(10, 0), RangeError);
    assert.throws(() => new Zipf(10, -1), RangeError);
    assert.throws(() => new Zipf(0, 1), RangeError);
  });
});
