/** Small statistics for goodness-of-fit assertions in tests. */

/** Standard normal CDF, through erf (Abramowitz & Stegun 7.1.26, absolute error < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** Standard normal quantile, by bisection on normalCdf (monotone, so 100 halvings settle it). */
export function normalQuantile(p: number): number {
  let lo = -10;
  let hi = 10;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Chi-square quantile for `df` degrees of freedom by the Wilson–Hilferty cube approximation. */
export function chiSquareQuantile(p: number, df: number): number {
  const v = 2 / (9 * df);
  return df * (1 - v + normalQuantile(p) * Math.sqrt(v)) ** 3;
}

export interface ChiSquare {
  readonly statistic: number;
  /** Bins after merging minus one (the distribution has no fitted parameters). */
  readonly df: number;
}

/**
 * Pearson's chi-square of observed counts against expected ones. Adjacent bins are merged from
 * the left until each merged bin expects at least `minExpected` (the usual validity condition);
 * a short remainder at the end joins the last bin.
 */
export function chiSquare(observed: readonly number[], expected: readonly number[], minExpected = 5): ChiSquare {
  const bins: { o: number; e: number }[] = [];
  let o = 0;
  let e = 0;
  for (let i = 0; i < expected.length; i++) {
    o += observed[i]!;
    e += expected[i]!;
    if (e >= minExpected) {
      bins.push({ o, e });
      o = 0;
      e = 0;
    }
  }
  if (e > 0 || o > 0) {
    const last = bins[bins.length - 1];
    if (last) {
      last.o += o;
      last.e += e;
    } else bins.push({ o, e });
  }
  const statistic = bins.reduce((sum, bin) => sum + (bin.o - bin.e) ** 2 / bin.e, 0);
  return { statistic, df: bins.length - 1 };
}
