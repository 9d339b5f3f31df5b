import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SIM = 'dist/cli/koorde-sim.js';

async function sim(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [SIM, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('cli - koorde-sim', () => {
  it('prints the docs/api.md JSON report', async () => {
    const { code, stdout } = await sim('--protocol', 'koorde', '--degree', '4', '--nodes', '128', '--lookups', '300', '--bits', '64', '--seed', '3', '--json');
    assert.equal(code, 0);
    const report = JSON.parse(stdout);
    assert.equal(report.protocol, 'koorde');
    assert.equal(report.degree, 4);
    assert.equal(report.nodes, 128);
    assert.equal(report.bits, 64);
    assert.equal(report.lookups, 300);
    assert.equal(report.failures, 0);
    assert.equal(report.wrong_owner, 0);
    for (const field of ['mean', 'p50', 'p99', 'max']) assert.equal(typeof report.hops[field], 'number');
    assert.ok(report.hops.p50 <= report.hops.p99 && report.hops.p99 <= report.hops.max);
    assert.ok(Math.abs(report.hops_by_kind.debruijn + report.hops_by_kind.correction - report.hops.mean) < 1e-9);
    assert.ok(report.state.mean_entries > 4);
    assert.ok(report.maintenance.messages_per_node_per_s > 0);
  });

  it('is deterministic for a seed', async () => {
    const args = ['--protocol', 'chord', '--nodes', '64', '--lookups', '200', '--maintenance-window', '0', '--json'];
    const [a, b] = await Promise.all([sim(...args), sim(...args)]);
    const strip = (text: string) => ({ ...JSON.parse(text), elapsed_s: 0 });
    assert.deepEqual(strip(a.stdout), strip(b.stdout));
  });

  it('checks ring invariants and acknowledged puts after every churn event', async () => {
    const { code, stdout } = await sim('--nodes', '24', '--build', 'join', '--degree', '2', '--churn', '--churn-duration', '30s', '--session', '30s', '--check', '--json');
    assert.equal(code, 0);
    const { churn } = JSON.parse(stdout);
    assert.ok(churn.check.events > 5, `${churn.check.events} churn events`);
    assert.equal(churn.check.unconverged, 0);
    assert.ok(churn.check.acknowledgedPuts > 20, `${churn.check.acknowledgedPuts} puts acknowledged`);
    assert.equal(churn.check.lostPuts, 0, 'no acknowledged put lost');
  });

  it('exits 2 with a one-line reason on bad arguments', async () => {
    for (const [args, reason] of [
      [['--protocol', 'pastry'], /expected one of koorde, chord/],
      [['--degree', '8', '--bits', '64'], /multiple of 3 bits/],
      [['--nodes', 'many'], /expected an integer/],
    ] as const) {
      const { code, stderr } = await sim(...args);
      assert.equal(code, 2, args.join(' '));
      assert.match(stderr, reason);
      assert.equal(stderr.trim().split('\n').length, 1, stderr);
    }
  });
});
