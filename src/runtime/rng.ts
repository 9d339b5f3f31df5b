import { randomBytes } from 'node:crypto';

/** Seeded randomness, so a failing simulation can be replayed from its seed. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Uniform bigint in [0, 2^bits). */
  bits(bits: number): bigint;
}

/** xoshiro128** seeded through splitmix32: fast, small state, good enough for simulation. */
export function seededRng(seed: number): Rng {
  let x = seed >>> 0;
  const splitmix = () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  const s = Uint32Array.of(splitmix(), splitmix(), splitmix(), splitmix());
  const nextU32 = () => {
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  };
  const next = () => nextU32() / 2 ** 32;
  return {
    next,
    int: (n) => Math.floor(next() * n),
    bits(bits) {
      let out = 0n;
      for (let have = 0; have < bits; have += 32) out = (out << 32n) | BigInt(nextU32());
      const extra = Math.ceil(bits / 32) * 32 - bits;
      return out >> BigInt(extra);
    },
  };
}

function rotl(v: number, n: number): number {
  return ((v << n) | (v >>> (32 - n))) >>> 0;
}

/** Randomness for production: seeded from the OS so every process differs. */
export function systemRng(): Rng {
  return seededRng(randomBytes(4).readUInt32LE(0));
}
