import { createHash } from 'node:crypto';

/** Identifiers live on a ring of 2^bits points; SHA-1 gives at most 160 bits. */
export const MAX_ID_BITS = 160;

/**
 * Arithmetic on the identifier ring. Every interval is clockwise and half-open on the left, so
 * `(a, b]` with a == b is the whole ring: a ring of one node owns every key.
 */
export class IdSpace {
  readonly bits: number;
  /** Number of points on the ring, 2^bits. */
  readonly size: bigint;
  private readonly mask: bigint;
  private readonly hexDigits: number;

  constructor(bits: number) {
    if (!Number.isInteger(bits) || bits < 1 || bits > MAX_ID_BITS) {
      throw new RangeError(`identifier bits must be an integer in 1..${MAX_ID_BITS}, got ${bits}`);
    }
    this.bits = bits;
    this.size = 1n << BigInt(bits);
    this.mask = this.size - 1n;
    this.hexDigits = Math.ceil(bits / 4);
  }

  /** Reduces any bigint (negative too) onto the ring. */
  wrap(x: bigint): bigint {
    return x & this.mask;
  }

  /** Clockwise distance from a to b, in [0, size). */
  distance(a: bigint, b: bigint): bigint {
    return (b - a) & this.mask;
  }

  /** x ∈ (a, b] clockwise; (a, a] is the whole ring. */
  inHalfOpen(x: bigint, a: bigint, b: bigint): boolean {
    const span = this.distance(a, b);
    const d = this.distance(a, x);
    return span === 0n ? true : d !== 0n && d <= span;
  }

  /** x ∈ (a, b) clockwise; (a, a) is the ring without a. */
  inOpen(x: bigint, a: bigint, b: bigint): boolean {
    const span = this.distance(a, b);
    const d = this.distance(a, x);
    return d !== 0n && (span === 0n || d < span);
  }

  /** The key of a string: the top `bits` bits of its SHA-1 digest. */
  hash(text: string): bigint {
    const digest = BigInt('0x' + createHash('sha1').update(text).digest('hex'));
    return digest >> BigInt(MAX_ID_BITS - this.bits);
  }

  /** Fixed-width lower-case hex without prefix, so ids sort and line up in logs. */
  toHex(id: bigint): string {
    return id.toString(16).padStart(this.hexDigits, '0');
  }

  /** `0x` and the fixed-width hex: how ids appear in JSON answers and the client API. */
  toPrefixedHex(id: bigint): string {
    return '0x' + this.toHex(id);
  }

  /** Parses hex with or without `0x`; rejects values that do not fit the ring. */
  parseHex(text: string): bigint {
    const digits = text.trim().replace(/^0x/i, '');
    if (!/^[0-9a-f]+$/i.test(digits)) throw new RangeError(`not a hex identifier: "${text}"`);
    const id = BigInt('0x' + digits);
    if (id >= this.size) throw new RangeError(`identifier ${text} does not fit in ${this.bits} bits`);
    return id;
  }
}
