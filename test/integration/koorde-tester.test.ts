import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDnsServer } from '../helpers/dns.js';
import { nodeIds, startNodes, waitForStableRing, type TestNode } from '../helpers/node-cluster.js';
import { freePorts, ProcessGroup } from '../helpers/processes.js';

const CLI = 'dist/cli/koorde-tester.js';
const RING = { protocol: 'koorde' as const, degree: 2, idBits: 66, successors: 8 };

function readCsv(path: string): Record<string, string>[] {
  const [header, ...rows] = readFileSync(path, 'utf8').trimEnd().split('\n');
  const columns = header!.split(',');
  return rows.map((line) => Object.fromEntries(line.split(',').map((v, i) => [columns[i]!, v])));
}

describe('koorde-tester - lookup load over gRPC against a local ring', () => {
  const group = new ProcessGroup();
  const dir = mkdtempSync(join(tmpdir(), 'koorde-tester-'));
  let nodes: TestNode[];
  let ids: Map<string, bigint>;
  before(async () => {
    // A generous per-hop deadline: the lookups must not fail because the test machine is busy.
    nodes = await startNodes(group, 3, { ...RING, env: { FAILURE_TIMEOUT: '3s' } });
    await waitForStableRing(nodes, RING);
    ids = await nodeIds(nodes);
  });
  after(() => group.stopAll());

  /** The oracle: the first node whose id follows the key on the ring. */
  const ownerOf = (key: bigint) => {
    const ring = [...ids].sort((a, b) => (a[1] < b[1] ? -1 : 1));
    return (ring.find(([, id]) => id >= key) ?? ring[0]!)[0];
  };

  it('sends random lookups round robin over a static list; every CSV row names the right owner and its hops', async () => {
    const [dead] = await freePorts(1);
    const csv = join(dir, 'lookups.csv');
    const json = join(dir, 'summary.json');
    const addrs = [...nodes.map((n) => n.addr), `127.0.0.1:${dead}`];
    const proc = group.node('tester', CLI, ['--addrs', addrs.join(','), '--rate', '40', '--lookups', '80', '--timeout', '10s', '--output', csv, '--json', json]);
    assert.equal(await proc.exited, 0, proc.output());
    const rows = readCsv(csv);
    assert.deepEqual(Object.keys(rows[0]!), ['timestamp', 'key', 'hops', 'latency_ms', 'owner', 'error', 'target']);
    assert.equal(rows.length, 80);
    for (const row of rows) {
      if (row.target === `127.0.0.1:${dead}`) {
        assert.match(row.error!, /^unreachable: /);
        continue;
      }
      assert.equal(row.error, '');
      assert.equal(row.owner, ownerOf(BigInt(`0x${row.key}`)), `owner of ${row.key}`);
      assert.match(row.hops!, /^\d+$/);
      assert.ok(Number(row.latency_ms) > 0);
    }
    assert.deepEqual(new Set(rows.map((r) => r.target)), new Set(addrs), 'round robin reached every address');
    const summary = JSON.parse(readFileSync(json, 'utf8')) as Record<string, any>;
    assert.equal(summary.lookups, 80);
    assert.equal(summary.ok, 60);
    assert.deepEqual(summary.errors_by_kind, { unreachable: 20 });
    // Owners seen: as many as the oracle names for the keys looked up (a node with a thin share may own none of them).
    const expectedOwners = new Set(rows.filter((r) => r.error === '').map((r) => ownerOf(BigInt(`0x${r.key}`))));
    assert.equal(summary.owners, expectedOwners.size);
    assert.ok(summary.hops.max >= summary.hops.mean && summary.latency_ms.p99 > 0);
    assert.match(proc.output(), /^lookups {6}80 \(60 ok, 20 errors: unreachable 20\)$/m);
  });

  it('finds the nodes through a DNS name (a headless Service) and writes lookups.csv by default', async () => {
    const server = await startDnsServer(group, { 'dht-headless.test': ['127.0.0.1'] });
    const first = nodes[0]!;
    const port = first.addr.split(':')[1]!;
    const proc = group.spawn('tester-dns', 'sh', ['-c', `cd "$1" && shift && exec "$@"`, 'sh', dir, process.execPath, join(process.cwd(), CLI), '--dns', 'dht-headless.test', '--port', port, '--dns-server', server, '--rate', '50', '--lookups', '10']);
    assert.equal(await proc.exited, 0, proc.output());
    const rows = readCsv(join(dir, 'lookups.csv'));
    assert.equal(rows.length, 10);
    assert.ok(rows.every((r) => r.target === first.addr && r.error === ''));
  });

  it('exits 2 with a one-line reason on bad arguments', async () => {
    for (const args of [[], ['--addrs', 'a:1', '--dns', 'x'], ['--addrs', 'no-port'], ['--addrs', 'a:1', '--rate', '0'], ['--addrs', 'a:1', '--lookups', '5', '--duration', '1s'], ['--dns', 'x', '--dns-server', 'resolver.example']]) {
      const proc = group.node('bad', CLI, args);
      assert.equal(await proc.exited, 2, `${args.join(' ')}: ${proc.output()}`);
      assert.equal(proc.output().trim().split('\n').length, 1, proc.output());
    }
  });
});
