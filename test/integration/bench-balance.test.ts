import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { reservedClusterBase } from '../helpers/ports.js';
import { ProcessGroup } from '../helpers/processes.js';
import { assertWellFormedSvg } from '../helpers/svg.js';

describe('bench:balance - the key-space split of real nodes over time', () => {
  const group = new ProcessGroup();
  after(() => group.stopAll());

  it('bench:balance follows the key-space split of a cluster started at once and charts it', async () => {
    const out = mkdtempSync(join(tmpdir(), 'koorde-balance-'));
    // Ports from this test process's reserved block: a range the benchmark picked itself could be
    // one another test file has reserved and not yet bound (or just released), as files run side by side.
    const base = await reservedClusterBase(3);
    const run = group.spawn('balance', process.execPath, ['--import', 'tsx', 'bench/balance.ts', '--nodes', '3', '--id-strategy', 'hash', '--minutes', '0.5', '--every', '5', '--out', out, '--base-port', String(base)]);
    assert.equal(await run.exited, 0, run.output());
    const result = JSON.parse(readFileSync(join(out, 'balance-hash-n3.json'), 'utf8'));
    assert.equal(result.nodes, 3);
    assert.equal(result.id_strategy, 'hash');
    assert.equal(result.settled_at_s, null, 'half a minute is shorter than the quiet time that counts as settled');
    const whole = result.samples.filter((s: { size: number; ready: number }) => s.size === 3 && s.ready === 3);
    assert.ok(whole.length >= 1, 'the ring of 3 formed within half a minute');
    // Hash ids never move: every look at the whole ring shows the same split.
    assert.equal(new Set(whole.map((s: { max_share_over_mean: number }) => s.max_share_over_mean)).size, 1);
    assert.ok(whole.every((s: { max_share_over_mean: number; moved: number }) => s.max_share_over_mean >= 1 && s.max_share_over_mean <= 3 && s.moved === 0));
    assertWellFormedSvg(readFileSync(join(out, 'balance.svg'), 'utf8'), 'balance.svg');
  });

  it('bench:balance starts balanced nodes one by one, and stops once the ring has been quiet', async () => {
    const out = mkdtempSync(join(tmpdir(), 'koorde-balance-'));
    const base = await reservedClusterBase(3);
    const args = ['--nodes', '3', '--id-strategy', 'balanced', '--arrival', 'one-by-one', '--minutes', '2', '--every', '5', '--quiet-minutes', '0.2', '--out', out, '--base-port', String(base)];
    const run = group.spawn('balance-one-by-one', process.execPath, ['--import', 'tsx', 'bench/balance.ts', ...args]);
    assert.equal(await run.exited, 0, run.output());
    const result = JSON.parse(readFileSync(join(out, 'balance-balanced-n3-one-by-one.json'), 'utf8'));
    assert.equal(result.arrival, 'one-by-one');
    assert.notEqual(result.settled_at_s, null, 'a ring that joined one by one has nothing to move: it settles within the two minutes');
    const whole = result.samples.filter((s: { size: number; ready: number }) => s.size === 3 && s.ready === 3);
    assert.equal(whole.length, result.samples.length, 'sampling starts once all three have joined');
    // Each joiner takes a point in the middle eighth of the largest interval its lookups show: the
    // second leaves two of 7/16 to 9/16 of the ring and the third splits one of them (the larger,
    // unless its lookups saw the ring before the second joiner showed in it), so the largest left
    // is 7/16 to 9/16.
    assert.ok(whole.every((s: { max_share_over_mean: number; moved: number }) => s.max_share_over_mean >= 3 * (7 / 16) - 0.01 && s.max_share_over_mean <= 3 * (9 / 16) + 0.01 && s.moved === 0), JSON.stringify(whole));
  });

  it('refuses ports in the kernel\'s ephemeral range and a run too short for one look, naming the option', async () => {
    for (const [args, option] of [
      [['--base-port', '40000'], '--base-port'],
      [['--minutes', '0.1', '--every', '30'], '--minutes'],
    ] as const) {
      const run = group.spawn('balance-bad-args', process.execPath, ['--import', 'tsx', 'bench/balance.ts', '--nodes', '3', ...args]);
      assert.equal(await run.exited, 2, run.output());
      assert.match(run.output(), new RegExp(`bench:balance: .*${option} must`));
    }
  });
});
