/**
 * npm run bench:hops — mean lookup hops of static rings from 64 to 16384 nodes, Chord and
 * Koorde k = 2, 4, 8, 16, against theory and the hop bands (docs/algorithms.md). Writes bench/results/hops.{json,md,svg}.
 * `-- --id-strategy balanced` builds the rings with balanced ids instead of random ones (writes hops-balanced.*).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { IdStrategy } from '../src/id/placement.js';
import type { Protocol } from '../src/routing/router.js';
import { measureLookups, measureMaintenance, stateEntries } from '../src/sim/measure.js';
import { Simulation } from '../src/sim/simulation.js';
import { lineChart } from './lib/svg-chart.js';

const SIZES = [64, 256, 1024, 4096, 16384];
const strategyArg = process.argv.indexOf('--id-strategy');
const ID_STRATEGY: IdStrategy = strategyArg > 0 && process.argv[strategyArg + 1] === 'balanced' ? 'balanced' : 'hash';
const OUT = ID_STRATEGY === 'hash' ? 'bench/results/hops' : `bench/results/hops-${ID_STRATEGY}`;
const LOOKUPS = 2000;
/** Upkeep traffic is counted where it stays cheap to simulate. */
const MAINTENANCE_UP_TO = 1024;
const ID_BITS = 96; // a multiple of 1, 2, 3 and 4 bits: every degree fits
const CONFIGS: { name: string; protocol: Protocol; degree: number }[] = [
  { name: 'Chord', protocol: 'chord', degree: 2 },
  { name: 'Koorde k=2', protocol: 'koorde', degree: 2 },
  { name: 'Koorde k=4', protocol: 'koorde', degree: 4 },
  { name: 'Koorde k=8', protocol: 'koorde', degree: 8 },
  { name: 'Koorde k=16', protocol: 'koorde', degree: 16 },
];
/** The hop bands of docs/algorithms.md: mean hops to the key's predecessor in a stable ring. */
const BANDS: Record<string, number[]> = {
  Chord: [3.0, 3.8, 4.8, 5.9, 6.8],
  'Koorde k=2': [6.5, 9.4, 11.5, 14.4, 17.0],
  'Koorde k=4': [4.1, 5.3, 6.5, 7.9, 9.3],
  'Koorde k=8': [3.0, 4.1, 4.9, 5.8, 6.7],
  'Koorde k=16': [2.7, 3.3, 4.3, 4.9, 5.8],
};

interface Row {
  config: string;
  protocol: Protocol;
  degree: number | null;
  nodes: number;
  successor_list: number;
  hops_mean: number;
  hops_p50: number;
  hops_p99: number;
  hops_max: number;
  debruijn_per_lookup: number;
  corrections_per_lookup: number;
  band: number;
  off_band: number;
  state_entries: number;
  maintenance_msgs_per_node_s: number | null;
  failures: number;
  wrong_owner: number;
}

async function measure(config: (typeof CONFIGS)[number], nodes: number, successors: number): Promise<Row> {
  const sim = new Simulation({ protocol: config.protocol, degree: config.degree, idBits: ID_BITS, successorListSize: successors, seed: nodes, idStrategy: ID_STRATEGY });
  const maintain = nodes <= MAINTENANCE_UP_TO;
  await sim.buildStatic(nodes, { maintain });
  const lookups = await measureLookups(sim, LOOKUPS);
  const maintenance = maintain ? await measureMaintenance(sim, 10_000) : undefined;
  const band = BANDS[config.name]![SIZES.indexOf(nodes)]!;
  const entries = sim.nodes.map(stateEntries);
  for (const node of sim.nodes) node.stop();
  return {
    config: config.name,
    protocol: config.protocol,
    degree: config.protocol === 'koorde' ? config.degree : null,
    nodes,
    successor_list: successors,
    hops_mean: lookups.hops.mean,
    hops_p50: lookups.hops.p50,
    hops_p99: lookups.hops.p99,
    hops_max: lookups.hops.max,
    debruijn_per_lookup: lookups.hopsByKind.debruijn,
    corrections_per_lookup: lookups.hopsByKind.correction,
    band,
    off_band: lookups.hops.mean / band - 1,
    state_entries: entries.reduce((a, b) => a + b, 0) / entries.length,
    maintenance_msgs_per_node_s: maintenance?.messagesPerNodePerSecond ?? null,
    failures: lookups.failures,
    wrong_owner: lookups.wrong,
  };
}

const started = performance.now();
const rows: Row[] = [];
const fixedR: Row[] = [];
for (const nodes of SIZES) {
  for (const config of CONFIGS) {
    // The bands assume successor lists of ⌈log2 N⌉; the deployment default is 8.
    rows.push(await measure(config, nodes, Math.ceil(Math.log2(nodes))));
    if (config.protocol === 'koorde' && config.degree >= 8 && nodes >= 1024) fixedR.push(await measure(config, nodes, 8));
    const last = rows[rows.length - 1]!;
    process.stdout.write(`${last.config.padEnd(12)} N=${String(nodes).padStart(5)}  mean ${last.hops_mean.toFixed(2)} (band ${last.band})\n`);
  }
}
const elapsed = (performance.now() - started) / 1000;

const pct = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)} %`;
const at = (config: string, nodes: number) => rows.find((r) => r.config === config && r.nodes === nodes)!;
const targets = {
  within_10_percent_of_bands: rows.every((r) => Math.abs(r.off_band) <= 0.1),
  koorde16_below_chord_from_1024: SIZES.filter((n) => n >= 1024).every((n) => at('Koorde k=16', n).hops_mean < at('Chord', n).hops_mean),
  under_5_minutes: elapsed < 300,
  no_failures_or_wrong_owners: rows.every((r) => r.failures === 0 && r.wrong_owner === 0),
};

mkdirSync('bench/results', { recursive: true });
writeFileSync(`${OUT}.json`, JSON.stringify({ id_bits: ID_BITS, lookups_per_point: LOOKUPS, elapsed_s: elapsed, targets, rows, fixed_successor_list_8: fixedR }, null, 2) + '\n');

const table = [
  '| N | ½·log2 N | Chord | log2 N | Koorde k=2 | log4 N | k=4 | log8 N | k=8 | log16 N | k=16 |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
  ...SIZES.map((n) => {
    const cell = (config: string) => {
      const r = at(config, n);
      return `${r.hops_mean.toFixed(2)} (band ${r.band}, ${pct(r.off_band)})`;
    };
    const log = (k: number) => (Math.log(n) / Math.log(k)).toFixed(2);
    return `| ${n} | ${(0.5 * Math.log2(n)).toFixed(1)} | ${cell('Chord')} | ${log(2)} | ${cell('Koorde k=2')} | ${log(4)} | ${cell('Koorde k=4')} | ${log(8)} | ${cell('Koorde k=8')} | ${log(16)} | ${cell('Koorde k=16')} |`;
  }),
];
const detail = [
  '| config | N | r | mean | p50 | p99 | max | de Bruijn | corrections | state entries | upkeep msg/node/s |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
  ...[...rows, ...fixedR].map(
    (r) =>
      `| ${r.config} | ${r.nodes} | ${r.successor_list} | ${r.hops_mean.toFixed(2)} | ${r.hops_p50} | ${r.hops_p99} | ${r.hops_max} | ${r.degree ? r.debruijn_per_lookup.toFixed(2) : '–'} | ${r.degree ? r.corrections_per_lookup.toFixed(2) : '–'} | ${r.state_entries.toFixed(1)} | ${r.maintenance_msgs_per_node_s?.toFixed(2) ?? '–'} |`,
  ),
];
writeFileSync(
  `${OUT}.md`,
  [
    '# Lookup hops: Chord vs Koorde (simulator, static rings)',
    '',
    `Generated by \`npm run bench:hops\` (${ID_STRATEGY} ids) in ${elapsed.toFixed(0)} s: ${LOOKUPS} random lookups per point, ${ID_BITS}-bit ids,`,
    'successor lists of r = ⌈log2 N⌉ (the length the hop bands (docs/algorithms.md) assume), hops counted until the key\'s predecessor.',
    'Each cell: measured mean (band, deviation). Theory columns: ½·log2 N for Chord, log_k N de Bruijn digits for Koorde.',
    '',
    ...table,
    '',
    '## Targets',
    '',
    ...Object.entries(targets).map(([name, ok]) => `- ${name.replace(/_/g, ' ')}: ${ok ? 'met' : 'NOT met'}`),
    '',
    '## Detail',
    '',
    'Rows with r = 8 show the default list length: Koorde\'s corrections walk the successor list, so large k needs r ≈ log2 N to reach its bands.',
    '',
    ...detail,
    '',
  ].join('\n'),
);
writeFileSync(
  `${OUT}.svg`,
  lineChart({
    title: 'Mean lookup hops vs ring size (simulator)',
    xLabel: 'nodes N (log scale)',
    yLabel: 'mean hops per lookup',
    logX: true,
    series: [
      ...CONFIGS.map((c) => ({ name: c.name, points: rows.filter((r) => r.config === c.name).map((r) => [r.nodes, r.hops_mean] as const) })),
      { name: '½·log2 N', dashed: true, points: SIZES.map((n) => [n, 0.5 * Math.log2(n)] as const) },
    ],
  }),
);
process.stdout.write(`\nwrote ${OUT}.{json,md,svg} in ${elapsed.toFixed(0)} s\n${JSON.stringify(targets)}\n`);
