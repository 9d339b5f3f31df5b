/**
 * npm run bench — the original system's experiments, done honestly: latency scaling, churn and
 * throughput on real local clusters; each writes JSON under the output folder, then report.ts
 * turns all results into SVG charts and REPORT.md.
 *
 *   npm run bench                          # everything (takes a while: up to 64 node processes)
 *   npm run bench -- --only churn          # one experiment
 *   npm run bench -- --quick --out /tmp/b  # a small configuration, for the test suite
 *   npm run bench -- --only latency --configs 'Koorde k=2' --sizes 32
 *                                          # measure part of the latency matrix again; the other
 *                                          # rows of latency.json are kept
 *   npm run bench -- --only churn --id-strategy balanced
 *                                          # DHT nodes' NODE_ID_STRATEGY in the churn experiment
 *                                          # (default: hash,balanced; --quick: balanced)
 *   npm run bench -- --only churn --repeats 2   # fewer runs of every churn and throughput cell (default 3)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ID_STRATEGIES, type IdStrategy } from '../src/id/placement.js';
import { DHT_CONFIGS } from './lib/configs.js';
import { onMachine } from './lib/machine.js';
import { churnExperiment } from './experiments/churn.js';
import { latencyScaling, type LatencyRow } from './experiments/latency.js';
import { throughputExperiment } from './experiments/throughput.js';
import { writeReport } from './report.js';

const EXPERIMENTS = ['latency', 'churn', 'throughput'] as const;
const { values } = parseArgs({ options: { quick: { type: 'boolean' }, out: { type: 'string' }, only: { type: 'string' }, configs: { type: 'string' }, sizes: { type: 'string' }, 'id-strategy': { type: 'string' }, repeats: { type: 'string' } } });
const out = values.out ?? 'bench/results';
const only = (values.only?.split(',') ?? EXPERIMENTS) as (typeof EXPERIMENTS)[number][];
const unknown = only.filter((e) => !EXPERIMENTS.includes(e));
if (unknown.length) {
  process.stderr.write(`bench: unknown experiment ${unknown.join(', ')}; choose from ${EXPERIMENTS.join(', ')}\n`);
  process.exit(2);
}
const configs = values.configs?.split(',').map((name) => DHT_CONFIGS.find((c) => c.name === name.trim()) ?? name);
const unknownConfigs = configs?.filter((c) => typeof c === 'string') ?? [];
if (unknownConfigs.length) {
  process.stderr.write(`bench: unknown configuration ${unknownConfigs.join(', ')}; choose from ${DHT_CONFIGS.map((c) => c.name).join(', ')}\n`);
  process.exit(2);
}
const sizes = values.sizes?.split(',').map(Number);
if (sizes?.some((n) => !Number.isInteger(n) || n < 1)) {
  process.stderr.write(`bench: --sizes takes ring sizes such as 8,16; got ${values.sizes}\n`);
  process.exit(2);
}
// ordinal ids need StatefulSet host names, which local nodes do not have.
const LOCAL_ID_STRATEGIES: readonly IdStrategy[] = ID_STRATEGIES.filter((s) => s !== 'ordinal');
const idStrategies = values['id-strategy']?.split(',').map((s) => s.trim()) as IdStrategy[] | undefined;
const unknownStrategies = idStrategies?.filter((s) => !LOCAL_ID_STRATEGIES.includes(s)) ?? [];
if (unknownStrategies.length) {
  process.stderr.write(`bench: unknown --id-strategy ${unknownStrategies.join(', ')}; choose from ${LOCAL_ID_STRATEGIES.join(', ')}\n`);
  process.exit(2);
}
const repeats = values.repeats === undefined ? undefined : Number(values.repeats);
if (repeats !== undefined && !(Number.isInteger(repeats) && repeats >= 1)) {
  process.stderr.write(`bench: --repeats takes a whole number of runs ≥ 1; got ${values.repeats}\n`);
  process.exit(2);
}
const quick = values.quick === true;
mkdirSync(out, { recursive: true });
const log = (line: string) => process.stdout.write(line + '\n');
const save = (name: string, data: unknown) => writeFileSync(join(out, `${name}.json`), JSON.stringify(data, null, 2) + '\n');
const started = performance.now();

if (only.includes('latency')) {
  const options = quick
    ? { sizes: [4], requests: 200, urls: 100, rate: 200, configs: DHT_CONFIGS.filter((c) => c.name === 'Koorde k=4'), upkeep: 'fast' as const }
    : { sizes: sizes ?? [8, 16, 32, 64], requests: 1500, urls: 2000, rate: 100, configs: configs as typeof DHT_CONFIGS | undefined };
  const rows = await latencyScaling(options, log);
  const file = join(out, 'latency.json');
  if ((configs || sizes) && existsSync(file)) {
    // A partial run replaces its own rows and keeps the rest of the matrix.
    const remeasured = (r: LatencyRow) => rows.some((n) => n.config === r.config && n.nodes === r.nodes);
    const kept = (JSON.parse(readFileSync(file, 'utf8')) as { rows: LatencyRow[] }).rows.filter((r) => !remeasured(r));
    const order = (r: LatencyRow) => DHT_CONFIGS.findIndex((c) => c.name === r.config) * 1e6 + r.nodes;
    rows.splice(0, rows.length, ...[...kept, ...rows].sort((a, b) => order(a) - order(b)));
  }
  save('latency', { options: { ...options, configs: undefined, sizes: [...new Set(rows.map((r) => r.nodes))] }, rows });
}
if (only.includes('churn')) {
  // The quick run checks the experiment end to end with one DHT beside the two client-side baselines.
  const options = quick
    ? { urls: 50, requestsPerPhase: 60, rate: 100, repeats: 1, upkeep: 'fast' as const, systems: ['Koorde k=4', 'hash mod n', 'rendezvous'], idStrategies: idStrategies ?? ['balanced' as const] }
    : { urls: 200, requestsPerPhase: 300, rate: 50, repeats: repeats ?? 3, idStrategies: idStrategies ?? ['hash' as const, 'balanced' as const] };
  const { machine, result: rows } = await onMachine(() => churnExperiment(options, log));
  save('churn', { options, machine, rows });
}
if (only.includes('throughput')) {
  const options = quick
    ? { sizes: [4], concurrency: [10, 50], rates: [100], durationMs: 1000, urls: 100, repeats: 1, upkeep: 'fast' as const }
    : { sizes: sizes ?? [8, 32], concurrency: [50, 100, 200, 500, 1000, 2000], rates: [250, 500, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000], durationMs: 8000, urls: 2000, repeats: repeats ?? 3 };
  save('throughput', { options, rows: await throughputExperiment(options, log) });
}
writeReport(out);
log(`bench: done in ${((performance.now() - started) / 1000).toFixed(0)} s; results in ${out}`);
