import type { DhtNode } from '../node/dht-node.js';
import { LookupStats } from '../routing/lookup-stats.js';
import type { HopKind } from '../routing/route-step.js';
import type { Simulation } from './simulation.js';

export interface LookupReport {
  readonly lookups: number;
  readonly failures: number;
  /** Lookups that finished but named another owner than the oracle. */
  readonly wrong: number;
  readonly hops: { readonly mean: number; readonly p50: number; readonly p99: number; readonly max: number };
  /** Mean moves per lookup by kind: de Bruijn steps vs corrections (Koorde), fingers (Chord). */
  readonly hopsByKind: Readonly<Record<HopKind, number>>;
  /** Dead candidates tried, per lookup. */
  readonly fallbacks: number;
}

/**
 * Runs `count` lookups of random keys from random live nodes against the oracle. They run side
 * by side (lookups change no state), so upkeep traffic meanwhile stays a short stretch of time.
 */
export async function measureLookups(sim: Simulation, count: number): Promise<LookupReport> {
  const stats = new LookupStats();
  let wrong = 0;
  const one = async () => {
    const nodes = sim.nodes;
    const from = nodes[sim.rng.int(nodes.length)]!;
    const key = sim.rng.bits(sim.init.idBits);
    try {
      const result = await from.lookup(key);
      stats.record(result);
      if (result.owner.addr !== sim.oracle().ownerOf(key).addr) wrong++;
    } catch {
      stats.recordFailure(); // a failed lookup is what this measures, not an error of the run
    }
  };
  await sim.clock.complete(Promise.all(Array.from({ length: count }, one)));
  return lookupReport(stats, wrong);
}

export function lookupReport(stats: LookupStats, wrong: number): LookupReport {
  const perLookup = (n: number) => (stats.count ? n / stats.count : 0);
  const byKind = Object.fromEntries(Object.entries(stats.byKind).map(([kind, n]) => [kind, perLookup(n)]));
  return {
    lookups: stats.count + stats.failures,
    failures: stats.failures,
    wrong,
    hops: { mean: stats.meanHops, p50: stats.hopQuantile(0.5), p99: stats.hopQuantile(0.99), max: stats.hopCounts.length - 1 },
    hopsByKind: byKind as Record<HopKind, number>,
    fallbacks: perLookup(stats.fallbacks),
  };
}

/** Routing state a node keeps: successor list, predecessor and long-range pointers, without repeats. */
export function stateEntries(node: DhtNode): number {
  const entries = new Set<string>();
  for (const n of [...node.ring.successors, ...node.router.pointers()]) entries.add(n.addr);
  if (node.ring.predecessor) entries.add(node.ring.predecessor.addr);
  entries.delete(node.self.addr);
  return entries.size;
}

export interface MaintenanceReport {
  readonly windowSeconds: number;
  readonly messagesPerNodePerSecond: number;
  readonly byMethod: Readonly<Record<string, number>>;
}

/** Counts upkeep messages over `windowMs` of virtual time with no lookups running. */
export async function measureMaintenance(sim: Simulation, windowMs: number): Promise<MaintenanceReport> {
  sim.network.resetCounters();
  await sim.clock.advance(windowMs);
  const seconds = windowMs / 1000;
  const perNodeSecond = (n: number) => n / sim.nodes.length / seconds;
  const byMethod = Object.fromEntries([...sim.network.sent].map(([method, n]) => [method, perNodeSecond(n)]));
  const total = [...sim.network.sent.values()].reduce((a, b) => a + b, 0);
  return { windowSeconds: seconds, messagesPerNodePerSecond: perNodeSecond(total), byMethod };
}
