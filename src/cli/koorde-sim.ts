#!/usr/bin/env node
import { writeFileSync } from 'node:fs';
import { degreeProblem } from '../id/digits.js';
import { IdSpace, MAX_ID_BITS } from '../id/id-space.js';
import { balanceOf, ID_STRATEGIES, sharesOf, type IdStrategy } from '../id/placement.js';
import { PROTOCOLS } from '../routing/router.js';
import { runChurn, type ChurnReport } from '../sim/churn.js';
import { measureLookups, measureMaintenance, stateEntries, type LookupReport, type MaintenanceReport } from '../sim/measure.js';
import { SIMULATION_DEFAULTS, Simulation, type Arrival } from '../sim/simulation.js';
import { command, decimal, duration, integer, oneOf, usageError } from './options.js';

const NAME = 'koorde-sim';
const program = command(NAME, 'Runs the real node code on a simulated network: hop counts, routing state, upkeep traffic, churn.')
  .option('--protocol <name>', 'koorde or chord', oneOf(PROTOCOLS), SIMULATION_DEFAULTS.protocol)
  .option('--degree <k>', 'Koorde base k (power of two)', integer(2, 256), SIMULATION_DEFAULTS.degree)
  .option('--nodes <n>', 'ring size', integer(1, 65536), 1024)
  .option('--bits <b>', `identifier bits (≤ ${MAX_ID_BITS})`, integer(1, MAX_ID_BITS), SIMULATION_DEFAULTS.idBits)
  .option('--lookups <n>', 'random lookups to measure on the stable ring', integer(0), 2000)
  .option('--seed <n>', 'seed of all randomness', integer(0, 2 ** 32 - 1), 1)
  .option('--build <how>', 'static: converged state computed directly; join: real joins + stabilization', oneOf(['static', 'join'] as const), 'static')
  .option('--arrival <how>', 'one-by-one: each node joins the ring the ones before it formed; at-once: all join the first node at the same instant', oneOf(['one-by-one', 'at-once'] as const), 'one-by-one')
  .option('--id-strategy <name>', 'hash (random ids), balanced (joiners split the largest sampled interval) or ordinal', oneOf(ID_STRATEGIES), 'balanced')
  .option('--successors <r>', 'successor list length', integer(1, 64), SIMULATION_DEFAULTS.successorListSize)
  .option('--maintenance-window <duration>', 'virtual time over which upkeep traffic is counted (0 = skip)', duration, 20_000)
  .option('--latency <min-max>', 'one-way link latency range in ms, e.g. 5-50', '5-50')
  .option('--loss <rate>', 'probability that a message is lost', decimal(0, 0.5), 0)
  .option('--churn', 'after the stable measurement, let nodes join, leave and crash while lookups run')
  .option('--churn-duration <duration>', 'virtual time of the churn phase', duration, 600_000)
  .option('--session <duration>', 'mean session time of a node', duration, 600_000)
  .option('--session-shape <shape>', 'Weibull shape of session times (1 = exponential)', decimal(0.1, 10), 1)
  .option('--crash-fraction <f>', 'share of departures that are crashes', decimal(0, 1), 0.5)
  .option('--lookup-rate <r>', 'lookups per second across the ring during churn', decimal(0, 100_000), 10)
  .option('--put-rate <r>', 'key-value puts per second during churn; --check reads every acknowledged one back after each event', decimal(0, 100_000), 2)
  .option('--check', 'after every churn event, run until the ring is correct again and check its invariants')
  .option('--json [file]', 'print the report as JSON (or write it to file)')
  .parse();

const opts = program.opts<{
  protocol: (typeof PROTOCOLS)[number];
  degree: number;
  nodes: number;
  bits: number;
  lookups: number;
  seed: number;
  build: 'static' | 'join';
  arrival: Arrival;
  idStrategy: IdStrategy;
  successors: number;
  maintenanceWindow: number;
  latency: string;
  loss: number;
  churn?: boolean;
  churnDuration: number;
  session: number;
  sessionShape: number;
  crashFraction: number;
  lookupRate: number;
  putRate: number;
  check?: boolean;
  json?: string | true;
}>();

const problem = opts.protocol === 'koorde' ? degreeProblem(opts.degree, opts.bits) : undefined;
if (problem) usageError(NAME, problem);
const latency = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(opts.latency);
if (!latency || Number(latency[1]) > Number(latency[2])) usageError(NAME, `--latency must look like 5-50 (ms), got "${opts.latency}"`);

const sim = new Simulation({
  protocol: opts.protocol,
  degree: opts.degree,
  idBits: opts.bits,
  successorListSize: opts.successors,
  latencyMs: { min: Number(latency[1]), max: Number(latency[2]) },
  lossRate: opts.loss,
  seed: opts.seed,
  idStrategy: opts.idStrategy,
});
const started = performance.now();
const maintain = opts.maintenanceWindow > 0 || opts.churn === true;
if (opts.build === 'static') {
  await sim.buildStatic(opts.nodes, { maintain, arrival: opts.arrival });
} else {
  sim.create();
  if (opts.arrival === 'at-once') await sim.joinAll(opts.nodes - 1);
  else for (let n = 1; n < opts.nodes; n++) await sim.join();
  // Balanced joiners check their place for a while after joining, and may move.
  if (opts.idStrategy === 'balanced' && !(await sim.settlePlacement(10 * 3_600_000))) usageError(NAME, 'balanced nodes still moved after ten hours of virtual time');
  if (!(await sim.converge(600_000))) usageError(NAME, 'the ring built by joins did not converge within 10 minutes of virtual time');
}
const stable: LookupReport = await measureLookups(sim, opts.lookups);
const maintenance: MaintenanceReport | undefined = maintain && opts.maintenanceWindow > 0 ? await measureMaintenance(sim, opts.maintenanceWindow) : undefined;
const entries = sim.nodes.map(stateEntries);
const churn: ChurnReport | undefined = opts.churn
  ? await runChurn(sim, {
      durationMs: opts.churnDuration,
      meanSessionMs: opts.session,
      sessionShape: opts.sessionShape,
      crashFraction: opts.crashFraction,
      lookupRatePerSecond: opts.lookupRate,
      putRatePerSecond: opts.putRate,
      check: opts.check === true,
      checkLimitMs: 120_000,
    })
  : undefined;

const report = {
  protocol: opts.protocol,
  degree: opts.protocol === 'koorde' ? opts.degree : null,
  nodes: opts.nodes,
  bits: opts.bits,
  seed: opts.seed,
  build: opts.build,
  arrival: opts.arrival,
  id_strategy: opts.idStrategy,
  balance: balanceOf(sharesOf(sim.oracle().sorted.map((n) => n.id), new IdSpace(opts.bits))),
  // Balanced nodes that left a sliver of the ring after racing joins and joined again elsewhere.
  moves: sim.moves,
  lookups: stable.lookups,
  failures: stable.failures,
  wrong_owner: stable.wrong,
  hops: stable.hops,
  hops_by_kind: stable.hopsByKind,
  fallbacks_per_lookup: stable.fallbacks,
  state: { mean_entries: entries.reduce((a, b) => a + b, 0) / entries.length, max_entries: Math.max(...entries) },
  maintenance: maintenance && {
    window_s: maintenance.windowSeconds,
    messages_per_node_per_s: maintenance.messagesPerNodePerSecond,
    by_method: maintenance.byMethod,
  },
  churn: churn && {
    joins: churn.joins,
    join_failures: churn.joinFailures,
    leaves: churn.leaves,
    crashes: churn.crashes,
    final_nodes: churn.finalNodes,
    lookups: churn.lookups.lookups,
    failures: churn.lookups.failures,
    wrong_owner: churn.lookups.wrong,
    hops: churn.lookups.hops,
    hop_inflation: stable.hops.mean ? churn.lookups.hops.mean / stable.hops.mean : null,
    check: churn.check,
  },
  elapsed_s: (performance.now() - started) / 1000,
};

if (opts.json !== undefined) {
  const text = JSON.stringify(report, null, 2) + '\n';
  if (opts.json === true) process.stdout.write(text);
  else writeFileSync(opts.json, text);
}
if (opts.json === undefined || opts.json !== true) printSummary();
const invariantsBroken = (churn?.check?.unconverged ?? 0) > 0 || (churn?.check?.lostPuts ?? 0) > 0;
process.exitCode = invariantsBroken ? 1 : 0;

function printSummary(): void {
  const f = (n: number) => n.toFixed(2);
  const name = opts.protocol === 'koorde' ? `Koorde k=${opts.degree}` : 'Chord';
  const lines = [
    `${name}, ${opts.nodes} nodes (${opts.build}, ${opts.arrival}), ${opts.bits}-bit ids, seed ${opts.seed}`,
    `balance      largest share ${f(report.balance.max_share_over_mean)}× the mean, smallest ${f(report.balance.min_share_over_mean)}×, Gini ${f(report.balance.gini)} (${opts.idStrategy} ids, ${sim.moves} moves)`,
    `lookups      ${stable.lookups} run, ${stable.failures} failed, ${stable.wrong} wrong owner`,
    `hops         mean ${f(stable.hops.mean)}  p50 ${stable.hops.p50}  p99 ${stable.hops.p99}  max ${stable.hops.max}`,
    opts.protocol === 'koorde'
      ? `  per lookup de Bruijn ${f(stable.hopsByKind.debruijn)}  corrections ${f(stable.hopsByKind.correction)}  ring walk ${f(stable.hopsByKind.successor)}`
      : `  per lookup fingers ${f(stable.hopsByKind.finger)}  successors ${f(stable.hopsByKind.successor)}`,
    `state        ${f(report.state.mean_entries)} entries per node (max ${report.state.max_entries})`,
  ];
  if (maintenance) lines.push(`maintenance  ${f(maintenance.messagesPerNodePerSecond)} messages per node per second`);
  if (churn) {
    lines.push(
      `churn        ${churn.joins} joins, ${churn.leaves} leaves, ${churn.crashes} crashes; ${churn.finalNodes} nodes at the end`,
      `  lookups    ${churn.lookups.lookups} run, ${churn.lookups.failures} failed, ${churn.lookups.wrong} wrong owner, mean hops ${f(churn.lookups.hops.mean)} (×${f(report.churn!.hop_inflation ?? 0)})`,
    );
    if (churn.check) {
      lines.push(
        `  check      ${churn.check.events} events, ${churn.check.unconverged} without convergence; converged in ${f(churn.check.meanConvergenceMs / 1000)} s mean, ${f(churn.check.maxConvergenceMs / 1000)} s max`,
        `  puts       ${churn.check.acknowledgedPuts} acknowledged, ${churn.check.lostPuts} lost`,
      );
      if (churn.check.firstViolation) lines.push(`  first violation: ${churn.check.firstViolation}`);
    }
  }
  lines.push(`elapsed      ${f(report.elapsed_s)} s`);
  process.stdout.write(lines.join('\n') + '\n');
}
