import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ProcessGroup } from '../helpers/processes.js';
import { assertWellFormedSvg } from '../helpers/svg.js';

describe('bench - the benchmark driver end to end, small', () => {
  const group = new ProcessGroup();
  after(() => group.stopAll());

  it('runs latency, churn and throughput on 4-node clusters and writes JSON, SVG charts and REPORT.md', async () => {
    const out = mkdtempSync(join(tmpdir(), 'koorde-bench-'));
    const run = group.spawn('bench', process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--out', out]);
    assert.equal(await run.exited, 0, run.output());

    const latency = JSON.parse(readFileSync(join(out, 'latency.json'), 'utf8'));
    assert.equal(latency.rows.length, 3, 'three variants of one configuration');
    for (const row of latency.rows) {
      assert.equal(row.nodes, 4);
      assert.equal(row.errors, 0);
      assert.ok(row.latency_ms.p50 > 0 && row.latency_ms.p50 <= row.latency_ms.p99);
      if (row.route_cache) continue;
      // Independent: every simulated lookup takes exactly the hop oracle's number of hops.
      assert.equal(row.oracle_agreement.sim, 1, 'koorde-sim hops equal the hop oracle for every lookup');
      // Real lookups too, but on a loaded machine a timed-out candidate adds a fallback hop, and a
      // request whose forward failed looks its owner up again: a few may take more.
      assert.ok(row.oracle_agreement.real >= 0.95, `real hops equal the oracle for ${row.oracle_agreement.real} of lookups`);
      // Convergence only (same routing code on both sides): the cluster's tables have settled.
      assert.ok(Math.abs(row.lookup_hops_mean - row.sim_lookup_hops_mean) <= 0.1 * Math.max(row.sim_lookup_hops_mean, 0.5), 'the real ring has converged to koorde-sim on the same ids');
    }
    const churn = JSON.parse(readFileSync(join(out, 'churn.json'), 'utf8'));
    assert.deepEqual(churn.rows.map((r: { system: string }) => r.system), ['Koorde k=4', 'hash mod n', 'rendezvous']);
    for (const row of churn.rows) {
      for (const variant of ['none', 'leave', 'crash']) {
        const [phases] = row.runs[variant];
        assert.equal(phases.length, 3, `${row.system} ${variant}: three phases`);
        // Every request is accounted for: a hit, a miss or an error, none dropped.
        for (const p of phases) assert.equal(p.requests, 60, `${row.system} ${variant}: every request of the phase counted`);
        for (const p of phases) assert.ok(p.hits + p.errors <= p.requests);
        // The load on owners: every answer names its owner, one of the live members.
        assert.deepEqual(phases.map((p: { members: number }) => p.members), variant === 'none' ? [4, 4, 4] : [4, 3, 4]);
        for (const p of phases) {
          const owners = Object.keys(p.owner_requests);
          const served = Object.values(p.owner_requests as Record<string, number>).reduce((a, b) => a + b, 0);
          assert.ok(owners.length >= 1 && owners.length <= p.members, `${row.system} ${variant}: owners among the live members`);
          assert.ok(served > 0 && served <= p.requests - p.errors, `${row.system} ${variant}: answers counted by owner`);
          assert.ok(Object.keys(p.owner_urls).length >= owners.length);
          if (row.system === 'Koorde k=4') {
            assert.equal(row.id_strategy, 'balanced', 'the nodes default');
            assert.ok(p.ring.max_share_over_mean >= 1 && p.ring.max_share_over_mean <= p.members, `${variant}: the split of the live members`);
          }
        }
      }
    }
    assert.ok(churn.machine.cpus > 0 && churn.machine.load_average_1m.length === 2, 'the machine the figures came from');
    const throughput = JSON.parse(readFileSync(join(out, 'throughput.json'), 'utf8'));
    assert.ok(throughput.rows.every((r: { throughput_rps: number }) => r.throughput_rps > 0));
    assert.ok(throughput.rows.some((r: { rate?: number }) => r.rate === 100), 'an open-loop row at the offered rate');

    const svgs = readdirSync(out).filter((f) => f.endsWith('.svg'));
    assert.deepEqual(svgs.sort(), ['churn.svg', 'latency-hops.svg', 'latency-p50.svg', 'throughput-p99.svg', 'throughput.svg']);
    for (const svg of svgs) assertWellFormedSvg(readFileSync(join(out, svg), 'utf8'), svg);
    const report = readFileSync(join(out, 'REPORT.md'), 'utf8');
    for (const heading of ['## Latency scaling', '## Churn', '## Throughput', '## Against the original system', '## Targets']) assert.ok(report.includes(heading), heading);
    assert.ok(report.includes('### Busiest owner'), 'the load on owners under churn');
  });
});
