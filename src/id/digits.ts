import type { IdSpace } from './id-space.js';

/** Why a Koorde degree does not fit an identifier width, with the values that would. */
export function degreeProblem(degree: number, bits: number): string | undefined {
  const isPowerOfTwo = Number.isInteger(degree) && degree >= 2 && (degree & (degree - 1)) === 0;
  if (!isPowerOfTwo) {
    return `de Bruijn degree must be a power of two ≥ 2 (2, 4, 8, 16, …), got ${degree}`;
  }
  const s = Math.log2(degree);
  if (bits % s !== 0) {
    const degrees = [2, 4, 8, 16, 32, 64, 128, 256].filter((k) => bits % Math.log2(k) === 0);
    const widths = [64, 66, 72, 96, 120, 128, 160].filter((b) => b % s === 0);
    return (
      `de Bruijn degree ${degree} needs an id width that is a multiple of ${s} bits, got ${bits}; ` +
      `with ${bits} bits use degree ${degrees.join(', ')}, or keep degree ${degree} with bits ${widths.join(', ')}`
    );
  }
  return undefined;
}

/**
 * Base-k digit arithmetic for Koorde with k = 2^s: ids are strings of bits/s digits, and a
 * de Bruijn step shifts one digit in at the bottom while the top digit falls off.
 */
export class DigitSpace {
  readonly degree: number;
  /** Bits per digit, log2(degree). */
  readonly digitBits: number;
  /** Digits per identifier, bits / digitBits. */
  readonly digits: number;
  private readonly s: bigint;
  private readonly topShift: bigint;

  constructor(readonly ids: IdSpace, degree: number) {
    const problem = degreeProblem(degree, ids.bits);
    if (problem) throw new RangeError(problem);
    this.degree = degree;
    this.digitBits = Math.log2(degree);
    this.digits = ids.bits / this.digitBits;
    this.s = BigInt(this.digitBits);
    this.topShift = BigInt(ids.bits - this.digitBits);
  }

  /** k·x + digit on the ring: the de Bruijn neighbour of x that ends in `digit`. */
  shiftIn(x: bigint, digit: bigint): bigint {
    return this.ids.wrap((x << this.s) | digit);
  }

  /** The most significant digit of x. */
  top(x: bigint): bigint {
    return x >> this.topShift;
  }
}
