/**
 * npm run bench — the original system's experiments, done honestly: latency scaling, churn and
 * throughput on real local clusters; each writes JSON under the output folder, then report.ts
 * turns all results into SVG charts and REPORT.md.
 *
 *   npm run bench                          # everything (takes a while: up to 64 node processes)
 *   npm run bench -- --only churn          # one experiment
 *   npm run bench -- --quick --out /tmp/b  # a small configuration, for the test suite
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DHT_CONFIGS } from './lib/configs.js';
import { churnExperiment } from './experiments/churn.js';
import { latencyScaling } from './experiments/latency.js';
import { throughputExperiment } from './experiments/throughput.js';
import { writeReport } from './report.js';

const EXPERIMENTS = ['latency', 'churn', 'throughput'] as const;
const { values } = parseArgs({ options: { quick: { type: 'boolean' }, out: { type: 'string' }, only: { type: 'string' } } });
const out = values.out ?? 'bench/results';
const only = (values.only?.split(',') ?? EXPERIMENTS) as (typeof EXPERIMENTS)[number][];
const unknown = only.filter((e) => !EXPERIMENTS.includes(e));
if (unknown.length) {
  process.stderr.write(`bench: unknown experiment ${unknown.join(', ')}; choose from ${EXPERIMENTS.join(', ')}\n`);
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
    : { sizes: [8, 16, 32, 64], requests: 1500, urls: 2000, rate: 100 };
  save('latency', { options, rows: await latencyScaling(options, log) });
}
if (only.includes('churn')) {
  const options = quick ? { urls: 50, requestsPerPhase: 60, rate: 100, upkeep: 'fast' as const } : { urls: 200, requestsPerPhase: 300, rate: 50 };
  save('churn', { options, rows: await churnExperiment(options, log) });
}
if (only.includes('throughput')) {
  const options = quick
    ? { sizes: [4], concurrency: [10, 50], rates: [100], durationMs: 1000, urls: 100, upkeep: 'fast' as const }
    : { sizes: [8, 32], concurrency: [50, 100, 200, 500, 1000, 2000], rates: [250, 500, 1000, 1500, 2000, 2500, 3000], durationMs: 8000, urls: 2000 };
  save('throughput', { options, rows: await throughputExperiment(options, log) });
}
writeReport(out);
log(`bench: done in ${((performance.now() - started) / 1000).toFixed(0)} s; results in ${out}`);
