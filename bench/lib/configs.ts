import type { Protocol } from '../../src/routing/router.js';

export interface DhtConfig {
  readonly name: string;
  readonly protocol: Protocol;
  readonly degree: number;
}

/** Chord and Koorde k = 2, 4, 8, 16, the configurations every experiment compares. */
export const DHT_CONFIGS: readonly DhtConfig[] = [
  { name: 'Chord', protocol: 'chord', degree: 2 },
  { name: 'Koorde k=2', protocol: 'koorde', degree: 2 },
  { name: 'Koorde k=4', protocol: 'koorde', degree: 4 },
  { name: 'Koorde k=8', protocol: 'koorde', degree: 8 },
  { name: 'Koorde k=16', protocol: 'koorde', degree: 16 },
];

/**
 * 96-bit identifiers: a multiple of 1, 2, 3 and 4 bits, so every degree fits and all runs
 * compare. (The issue suggested 64, but Koorde k=8 needs a multiple of 3 bits.)
 */
export const BENCH_ID_BITS = 96;
