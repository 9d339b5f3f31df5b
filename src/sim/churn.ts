import { DhtError } from '../errors.js';
import type { Rng } from '../runtime/rng.js';
import { LookupStats } from '../routing/lookup-stats.js';
import { lookupReport, type LookupReport } from './measure.js';
import { ringViolations, type Simulation } from './simulation.js';

export interface ChurnInit {
  readonly durationMs: number;
  /** Mean time a node stays; arrivals keep the population steady on average. */
  readonly meanSessionMs: number;
  /** Weibull shape of session times: 1 is exponential, below 1 heavy-tailed as measured in real P2P systems. */
  readonly sessionShape: number;
  /** Share of departures that are crashes rather than graceful leaves. */
  readonly crashFraction: number;
  /** Lookups started per second across the ring while churn goes on. */
  readonly lookupRatePerSecond: number;
  /** Key-value puts per second across the ring; in check mode every acknowledged one must stay readable. */
  readonly putRatePerSecond: number;
  /** After every join/leave/crash, run until the ring is correct again and check it. */
  readonly check: boolean;
  /** How long the ring may take to converge after one event in check mode. */
  readonly checkLimitMs: number;
}

export interface ChurnReport {
  readonly joins: number;
  readonly joinFailures: number;
  readonly leaves: number;
  readonly crashes: number;
  readonly finalNodes: number;
  readonly lookups: LookupReport;
  readonly check?: {
    readonly events: number;
    /** Events after which the ring did not converge within the limit. */
    readonly unconverged: number;
    readonly meanConvergenceMs: number;
    readonly maxConvergenceMs: number;
    readonly firstViolation?: string;
    /** Acknowledged puts that could not be read back after some event. */
    readonly lostPuts: number;
    readonly acknowledgedPuts: number;
  };
}

/**
 * Nodes join, leave and crash with random session times while lookups keep running; every
 * lookup is checked against the oracle of the moment it finishes.
 */
export async function runChurn(sim: Simulation, init: ChurnInit): Promise<ChurnReport> {
  const { clock, rng } = sim;
  let end = clock.now() + init.durationMs;
  const population = sim.nodes.length;
  const session = () => weibull(rng, init.meanSessionMs, init.sessionShape);
  const departures = new Map(sim.nodes.map((n) => [n.self.addr, clock.now() + session()]));
  let nextArrival = clock.now() + exponential(rng, init.meanSessionMs / population);
  const counts = { joins: 0, joinFailures: 0, leaves: 0, crashes: 0 };
  const convergence: number[] = [];
  let firstViolation: string | undefined;

  const lookups = startLookups(sim, init.lookupRatePerSecond, () => end);
  const puts = startPuts(sim, init.putRatePerSecond, () => end);
  const lost = new Set<string>();
  for (;;) {
    const [leaver, leaveAt] = earliest(departures);
    const at = Math.min(leaveAt, nextArrival);
    if (at > end) break;
    await clock.runUntil(at);
    if (at === nextArrival) {
      nextArrival = clock.now() + exponential(rng, init.meanSessionMs / population);
      try {
        const node = await sim.join();
        departures.set(node.self.addr, clock.now() + session());
        counts.joins++;
      } catch (err) {
        if (!(err instanceof DhtError)) throw err;
        counts.joinFailures++; // its bootstrap died under it; a real node would retry
      }
    } else {
      departures.delete(leaver!);
      const node = sim.node(leaver!);
      if (!node || sim.nodes.length <= 2) continue;
      if (rng.next() < init.crashFraction) {
        sim.crash(node);
        counts.crashes++;
      } else {
        await sim.leave(node);
        counts.leaves++;
      }
    }
    if (init.check) {
      const started = clock.now();
      if (await sim.converge(init.checkLimitMs)) convergence.push(clock.now() - started);
      else firstViolation ??= ringViolations(sim.nodes, sim.oracle())[0];
      for (const key of await puts.unreadable()) lost.add(key);
      // The churn schedule pauses while the ring converges, so checking does not change the churn rate.
      const paused = clock.now() - started;
      for (const [addr, at] of departures) departures.set(addr, at + paused);
      nextArrival += paused;
      end += paused;
    }
  }
  await clock.runUntil(end);
  const report = await lookups.finish();
  await puts.finish();
  const events = counts.joins + counts.leaves + counts.crashes;
  return {
    ...counts,
    finalNodes: sim.nodes.length,
    lookups: report,
    check: init.check
      ? {
          events,
          unconverged: events - convergence.length,
          meanConvergenceMs: convergence.length ? convergence.reduce((a, b) => a + b, 0) / convergence.length : 0,
          maxConvergenceMs: Math.max(0, ...convergence),
          firstViolation,
          lostPuts: lost.size,
          acknowledgedPuts: puts.acknowledged.size,
        }
      : undefined,
  };
}

/** A Poisson stream of lookups from random live nodes until `end`. */
function startLookups(sim: Simulation, ratePerSecond: number, end: () => number): { finish(): Promise<LookupReport> } {
  const stats = new LookupStats();
  const inFlight = new Set<Promise<void>>();
  let wrong = 0;
  const launch = () => {
    if (sim.clock.now() >= end()) return;
    const nodes = sim.nodes;
    const from = nodes[sim.rng.int(nodes.length)]!;
    const key = sim.rng.bits(sim.init.idBits);
    const done = from.lookup(key).then(
      (result) => {
        stats.record(result);
        if (result.owner.addr !== sim.oracle().ownerOf(key).addr) wrong++;
      },
      () => {
        // A lookup whose own node left is not a routing failure.
        if (sim.node(from.self.addr)) stats.recordFailure();
      },
    );
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
    sim.clock.setTimeout(launch, exponential(sim.rng, 1000 / ratePerSecond));
  };
  if (ratePerSecond > 0) launch();
  return {
    async finish() {
      await sim.clock.complete(Promise.allSettled([...inFlight]));
      return lookupReport(stats, wrong);
    },
  };
}

/** A Poisson stream of puts from random live nodes; remembers what was acknowledged. */
function startPuts(sim: Simulation, ratePerSecond: number, end: () => number) {
  const acknowledged = new Map<string, string>();
  const inFlight = new Set<Promise<void>>();
  let n = 0;
  const launch = () => {
    if (sim.clock.now() >= end()) return;
    const nodes = sim.nodes;
    const key = `key-${n}`;
    const value = `value-${n++}`;
    const done = nodes[sim.rng.int(nodes.length)]!.store.put(key, value).then(
      () => void acknowledged.set(key, value),
      () => {}, // not acknowledged: the writer knows it failed, so nothing is owed
    );
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
    sim.clock.setTimeout(launch, exponential(sim.rng, 1000 / ratePerSecond));
  };
  if (ratePerSecond > 0) launch();
  return {
    acknowledged,
    /** Acknowledged keys that do not read back their value through a random live node right now. */
    async unreadable(): Promise<string[]> {
      const nodes = sim.nodes;
      const reader = nodes[sim.rng.int(nodes.length)]!;
      const checks = [...acknowledged].map(async ([key, value]) => ((await reader.store.get(key).catch(() => undefined)) === value ? undefined : key));
      return (await sim.clock.complete(Promise.all(checks))).filter((k): k is string => k !== undefined);
    },
    async finish(): Promise<void> {
      await sim.clock.complete(Promise.allSettled([...inFlight]));
    },
  };
}

function earliest(times: Map<string, number>): [string | undefined, number] {
  let best: [string | undefined, number] = [undefined, Infinity];
  for (const entry of times) if (entry[1] < best[1]) best = entry;
  return best;
}

function exponential(rng: Rng, mean: number): number {
  return -mean * Math.log(1 - rng.next());
}

/** Weibull with the given mean and shape: scale = mean / Γ(1 + 1/shape). */
function weibull(rng: Rng, mean: number, shape: number): number {
  const scale = mean / Math.exp(logGamma(1 + 1 / shape));
  return scale * Math.pow(-Math.log(1 - rng.next()), 1 / shape);
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7), accurate to ~1e-15 — plenty for session times. */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = c[0]!;
  for (let i = 1; i < 9; i++) sum += c[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}
