import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadSettings } from '../../src/config/load.js';
import { IdSpace } from '../../src/id/id-space.js';
import { balancedId, balanceOf, freeBalancedId, ordinalFromHostname, ordinalId, sharesOf, worthMoving, type PlacementView, type RingSample } from '../../src/id/placement.js';
import { initialPlacement } from '../../src/server/node-id.js';
import { seededRng } from '../../src/runtime/rng.js';

const ids = new IdSpace(8);
const ref = (id: bigint) => ({ id, addr: `n${id}:4000` });

describe('placement - ordinal ids', () => {
  it('bit-reverses the ordinal: 0, ½, ¼, ¾, ⅛ of the ring', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => ordinalId(i, ids)), [0n, 128n, 64n, 192n, 32n, 160n]);
  });

  it('splits the ring exactly evenly at every power of two', () => {
    const space = new IdSpace(66);
    for (const n of [1, 2, 8, 64, 1024]) {
      const sorted = Array.from({ length: n }, (_, i) => ordinalId(i, space)).sort((a, b) => (a < b ? -1 : 1));
      assert.equal(balanceOf(sharesOf(sorted, space)).max_share_over_mean, 1, `n = ${n}`);
    }
  });

  it('reads the ordinal from StatefulSet hostnames and nothing else', () => {
    assert.equal(ordinalFromHostname('dht-node-0'), 0);
    assert.equal(ordinalFromHostname('dht-node-17'), 17);
    assert.equal(ordinalFromHostname('dht-node-3.dht-headless.koorde-dht.svc.cluster.local'), 3);
    for (const bad of ['dht-node', 'laptop', '', '-3', 'dht-node-x', 'dht-node-1234567890']) assert.equal(ordinalFromHostname(bad), undefined, bad);
  });

  it('refuses an ordinal strategy on a host without an ordinal, naming the setting', () => {
    const settings = loadSettings({ NODE_ID_STRATEGY: 'ordinal' });
    assert.throws(() => initialPlacement(settings, undefined, '127.0.0.1:4000', 'laptop', ids), (err: unknown) => err instanceof ConfigError && /NODE_ID_STRATEGY=ordinal.*"laptop"/.test(err.message));
    assert.equal(initialPlacement(settings, undefined, '127.0.0.1:4000', 'dht-node-2', ids).id, 64n);
  });

  it('keeps NODE_ID, then a saved id, before any strategy', () => {
    const balanced = loadSettings({});
    assert.equal(balanced.idStrategy, 'balanced');
    assert.deepEqual(initialPlacement(balanced, undefined, 'a:1', 'h', ids), { id: ids.hash('a:1'), balanceOnJoin: true });
    assert.deepEqual(initialPlacement(balanced, '2a', 'a:1', 'h', ids), { id: 42n, balanceOnJoin: false });
    assert.deepEqual(initialPlacement(loadSettings({ NODE_ID: '07' }), '2a', 'a:1', 'h', ids), { id: 7n, balanceOnJoin: false });
    assert.deepEqual(initialPlacement(loadSettings({ NODE_ID_STRATEGY: 'hash' }), undefined, 'a:1', 'h', ids), { id: ids.hash('a:1'), balanceOnJoin: false });
  });
});

describe('placement - balanced ids', () => {
  it('splits the largest interval it sees within its middle eighth', async () => {
    // Members at 0, 16, 32, 160: (32, 160] is the largest (128 of 256); its middle eighth is [88, 104).
    const run: RingSample = { predecessor: ref(0n), successors: [ref(16n), ref(32n), ref(160n), ref(0n)] };
    for (let seed = 1; seed <= 20; seed++) {
      const id = await balancedId(ids, seededRng(seed), async () => run);
      assert.ok(id >= 88n && id < 104n, `seed ${seed}: ${id}`);
    }
  });

  it('splits the whole ring near its far side when the only member is alone', async () => {
    const id = await balancedId(ids, seededRng(1), async () => ({ predecessor: ref(10n), successors: [] }));
    assert.ok(id >= 122n && id < 154n, String(id));
  });

  it('gives joiners that see the same ring different ids', async () => {
    const space = new IdSpace(66);
    const alone = async () => ({ predecessor: { id: 0n, addr: 'first:4000' }, successors: [] });
    const picks = await Promise.all(Array.from({ length: 64 }, (_, seed) => balancedId(space, seededRng(seed + 1), alone)));
    assert.equal(new Set(picks).size, 64);
  });

  it('picks again when a member already holds the picked id', async () => {
    const members = [ref(0n), ref(100n)];
    const rng = seededRng(3);
    const first = await balancedId(ids, seededRng(3), async () => ({ predecessor: members[0]!, successors: [members[1]!, members[0]!] }));
    let lookups = 0;
    const lookup = async (key: bigint) => {
      lookups++;
      // The samples show members 0 and 100 only; a node that joined meanwhile holds the first pick.
      return { owner: key === first ? ref(first) : members[0]!, predecessor: members[0]!, successors: [members[1]!, members[0]!] };
    };
    const id = await freeBalancedId(ids, rng, { lookup, predecessorOf: async () => members[0] });
    assert.notEqual(id, first);
    assert.ok(lookups > 2, 'the taken pick was looked up and a second one made');
  });

  it('keeps every share within twice the mean when 1024 nodes join one by one', async () => {
    const space = new IdSpace(66);
    const rng = seededRng(5);
    const sorted: bigint[] = [space.hash('first')];
    const sample = async (key: bigint): Promise<RingSample> => {
      const owner = sorted.findIndex((id) => id >= key);
      const p = ((owner < 0 ? 0 : owner) - 1 + sorted.length) % sorted.length;
      const successors = Array.from({ length: Math.min(8, sorted.length - 1) }, (_, j) => ({ id: sorted[(p + 1 + j) % sorted.length]!, addr: '' }));
      return { predecessor: { id: sorted[p]!, addr: '' }, successors };
    };
    while (sorted.length < 1024) {
      sorted.push(await balancedId(space, rng, sample));
      sorted.sort((a, b) => (a < b ? -1 : 1));
    }
    assert.equal(new Set(sorted).size, 1024);
    const balance = balanceOf(sharesOf(sorted, space));
    assert.ok(balance.max_share_over_mean <= 2, JSON.stringify(balance));
  });

  it('moves a sliver beside a fair interval when the ring has a much larger one, and leaves fair shares alone', async () => {
    // Members of an 8-bit ring, in order; lookups show the whole ring, and nodes their true predecessor.
    const ring = (members: bigint[], predecessors = members): PlacementView => ({
      lookup: async (key) => {
        const owner = members.find((id) => id >= key) ?? members[0]!;
        return { owner: ref(owner), predecessor: ref(members[0]!), successors: [...members.slice(1), members[0]!].map(ref) };
      },
      predecessorOf: async (node) => ref([...predecessors].reverse().find((id) => id < node.id) ?? predecessors.at(-1)!),
    });
    // 0, 100, 104, 150: intervals 100, 4, 46 and 106 (150 → 0 across the wrap).
    const skewed = ring([0n, 100n, 104n, 150n]);
    assert.equal(await worthMoving(ids, seededRng(1), 4n, 46n, skewed), true, 'the node at 104 holds 4 and its successor would hold 50 ≤ ⅞ · 106');
    assert.equal(await worthMoving(ids, seededRng(1), 100n, 4n, skewed), false, 'the node at 100 holds a fair share');
    // 0, 40, 88, 150: intervals 40, 48, 62 and 106.
    const uneven = ring([0n, 40n, 88n, 150n]);
    assert.equal(await worthMoving(ids, seededRng(1), 40n, 48n, uneven), true, 'the node at 40: its successor would hold 88 ≤ ⅞ · 106');
    assert.equal(await worthMoving(ids, seededRng(1), 48n, 62n, uneven), false, 'the node at 88: its successor would hold 110, more than the largest');
    const even = ring([0n, 64n, 128n, 192n]);
    assert.equal(await worthMoving(ids, seededRng(1), 64n, 64n, even), false);
  });

  it('stays when the largest interval sampled has been split since the samples were taken', async () => {
    // Lookups still show 0, 100, 104, 150, but a node joined at 200: the end of (150, 0] knows it as its predecessor.
    const ring: PlacementView = {
      lookup: async (key) => ({ owner: ref(key > 150n ? 0n : key > 104n ? 150n : key > 100n ? 104n : 100n), predecessor: ref(0n), successors: [100n, 104n, 150n, 0n].map(ref) }),
      predecessorOf: async (node) => ref(node.id === 0n ? 200n : node.id === 150n ? 104n : node.id === 104n ? 100n : 0n),
    };
    assert.equal(await worthMoving(ids, seededRng(1), 4n, 46n, ring), false, 'the largest interval is now 56, not 106');
  });

  it('measures balance: max and min over the mean, and the Gini coefficient', () => {
    assert.deepEqual(balanceOf([0.25, 0.25, 0.25, 0.25]), { max_share_over_mean: 1, min_share_over_mean: 1, gini: 0 });
    const skewed = balanceOf([0.5, 0.25, 0.125, 0.125]);
    assert.equal(skewed.max_share_over_mean, 2);
    assert.equal(skewed.min_share_over_mean, 0.5);
    assert.ok(skewed.gini > 0.2 && skewed.gini < 0.4);
  });
});

describe('placement - NODE_ID_STRATEGY setting', () => {
  it('rejects unknown strategies, naming the setting and what is allowed', () => {
    assert.throws(() => loadSettings({ NODE_ID_STRATEGY: 'random' }), (err: unknown) => err instanceof ConfigError && /NODE_ID_STRATEGY/.test(err.message) && /hash, balanced, ordinal/.test(err.message));
  });

  it('makes koorde-node exit 2 for a bad value', () => {
    const cli = fileURLToPath(new URL('../../src/cli/koorde-node.ts', import.meta.url));
    const run = spawnSync(process.execPath, ['--import', 'tsx', cli], { env: { ...process.env, NODE_ID_STRATEGY: 'sequential' }, encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /NODE_ID_STRATEGY/);
  });
});

describe('placement - NODE_ID_REBALANCE setting', () => {
  it('is on unless turned off', () => {
    assert.equal(loadSettings({}).idRebalance, true);
    assert.equal(loadSettings({ NODE_ID_REBALANCE: 'false' }).idRebalance, false);
  });

  it('reads dht.idRebalance from YAML, and the env var overrides it', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'koorde-rebalance-')), 'node.yaml');
    writeFileSync(path, 'dht:\n  idRebalance: false\n');
    assert.equal(loadSettings({}, path).idRebalance, false);
    assert.equal(loadSettings({ NODE_ID_REBALANCE: 'true' }, path).idRebalance, true);
  });

  it('rejects a value that is not a boolean, naming the setting', () => {
    assert.throws(() => loadSettings({ NODE_ID_REBALANCE: 'sometimes' }), (err: unknown) => err instanceof ConfigError && /NODE_ID_REBALANCE/.test(err.message) && /true or false/.test(err.message));
  });
});
