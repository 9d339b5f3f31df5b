/**
 * npm run bench:bands — the reference figures behind the hop bands: mean hops to the key's
 * predecessor on random static rings, computed by the independent hop oracle
 * (bench/lib/hop-oracle.ts), with the parameters the bands were measured with: 96-bit ids,
 * successor lists of ⌈log2 N⌉, 2000 random lookups from random nodes per point, seed = N.
 * Prints a markdown table; no project routing code runs.
 */
import { fileURLToPath } from 'node:url';
import { HopOracle } from './lib/hop-oracle.js';
import { seededRng } from '../src/runtime/rng.js';

const SIZES = [64, 256, 1024, 4096, 16384];
const LOOKUPS = 2000;
const ID_BITS = 96;
const CONFIGS = [
  { name: 'Chord', degree: 0 },
  { name: 'Koorde k=2', degree: 2 },
  { name: 'Koorde k=4', degree: 4 },
  { name: 'Koorde k=8', degree: 8 },
  { name: 'Koorde k=16', degree: 16 },
];

/** Mean oracle hops of one configuration on a seeded random ring of `nodes` members. */
export function referenceMean(nodes: number, degree: number, lookups = LOOKUPS): number {
  const rng = seededRng(nodes);
  const ids = new Set<bigint>();
  while (ids.size < nodes) ids.add(rng.bits(ID_BITS));
  const members = [...ids];
  const oracle = new HopOracle({ bits: ID_BITS, ids: members, successorListSize: Math.ceil(Math.log2(nodes)) });
  let hops = 0;
  for (let j = 0; j < lookups; j++) {
    const source = members[rng.int(members.length)]!;
    const key = rng.bits(ID_BITS);
    hops += degree === 0 ? oracle.chordHops(source, key) : oracle.koordeHops(source, key, degree);
  }
  return hops / lookups;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const lines = ['| N | ' + CONFIGS.map((c) => c.name).join(' | ') + ' |', '|---|' + CONFIGS.map(() => '---|').join('')];
  for (const n of SIZES) lines.push(`| ${n} | ` + CONFIGS.map((c) => referenceMean(n, c.degree).toFixed(2)).join(' | ') + ' |');
  process.stdout.write(lines.join('\n') + '\n');
}
