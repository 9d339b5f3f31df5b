import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IdSpace } from '../../src/id/id-space.js';
import type { Protocol } from '../../src/routing/router.js';
import { seededRng } from '../../src/runtime/rng.js';
import { nodeIds, NODE_SCRIPT, routingTable, startNodes, waitForStableRing, withClient, type TestNode } from '../helpers/node-cluster.js';
import { freePorts, ProcessGroup, waitFor } from '../helpers/processes.js';

const KEYS = 1000;
const R = 3;
const ID_BITS = 66;

/** Runs `work` over `items` with at most `limit` in flight. */
async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

/** Keys that do not read back as written through `addr`. */
async function unreadable(addr: string, written: Map<string, string>): Promise<string[]> {
  const bad: string[] = [];
  await withClient(addr, (client) =>
    inParallel([...written], 50, async ([key, value]) => {
      const got = await client.get(key).catch((err: Error) => `error: ${err.message}`);
      if (got !== value) bad.push(`${key} via ${addr}: ${got}`);
    }),
  );
  return bad;
}

/** How many live nodes hold each key, from every node's GetStore stream. */
async function copyCounts(nodes: readonly TestNode[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const node of nodes) {
    for (const item of await withClient(node.addr, (c) => c.store())) counts.set(item.key, (counts.get(item.key) ?? 0) + 1);
  }
  return counts;
}

for (const { protocol, degree } of [
  { protocol: 'koorde' as Protocol, degree: 8 },
  { protocol: 'chord' as Protocol, degree: 2 },
]) {
  describe(`integration - ${protocol} - 8 koorde-node processes on loopback`, () => {
    const group = new ProcessGroup();
    const stateDir = mkdtempSync(join(tmpdir(), 'koorde-state-'));
    const ring = { protocol, degree, idBits: ID_BITS, successors: 8 };
    let nodes: TestNode[] = [];
    const written = new Map<string, string>();
    after(() => group.stopAll());

    before(async () => {
      nodes = await startNodes(group, 8, {
        protocol,
        degree,
        idBits: ID_BITS,
        // A replica write is a call inside a call: on a loaded 2-core machine the fast rings' 500 ms
        // deadline fails writes that are merely slow, not lost.
        env: { REPLICATION_FACTOR: String(R), FAILURE_TIMEOUT: '2s' },
        // Every node keeps a state file, so the SIGTERM test can restart one from it.
        envFor: (i) => ({ STATE_FILE: join(stateDir, `node-${i}.json`) }),
      });
    });

    it('forms one ring whose every routing table matches the oracle (all started at once)', async () => {
      await waitForStableRing(nodes, ring);
    });

    it(`stores ${KEYS} keys through random nodes, with ${R} copies each`, async () => {
      // Entry node per key from a seeded sequence, drawn up front: the same pairs every run, so a failure replays.
      const rng = seededRng(7);
      const entryOf = new Map<string, number>();
      for (let i = 0; i < KEYS; i++) {
        written.set(`key-${i}`, `value-${i}-${'x'.repeat(i % 17)}`);
        entryOf.set(`key-${i}`, rng.int(nodes.length));
      }
      await inParallel([...written], 40, async ([key, value]) => {
        await withClient(nodes[entryOf.get(key)!]!.addr, (c) => c.put(key, value));
      });
      await waitFor(`${R} copies of every key`, async () => {
        const counts = await copyCounts(nodes);
        return written.size === counts.size && [...counts.values()].every((n) => n === R);
      });
    });

    it('loses no key when two non-adjacent nodes are SIGKILLed, and repair restores the copies', async () => {
      const ids = await nodeIds(nodes);
      const byRing = [...ids].sort((a, b) => (a[1] < b[1] ? -1 : 1)).map(([addr]) => nodes.find((n) => n.addr === addr)!);
      const victims = [byRing[1]!, byRing[5]!];
      for (const v of victims) v.proc.child.kill('SIGKILL');
      await Promise.all(victims.map((v) => v.proc.exited));
      const survivors = nodes.filter((n) => !victims.includes(n));
      for (const node of survivors) assert.deepEqual(await unreadable(node.addr, written), [], `reads through ${node.addr}`);
      await waitForStableRing(survivors, ring);
      await waitFor(`${R} copies of every key again`, async () => [...(await copyCounts(survivors)).values()].every((n) => n === R), 30_000, 500);
      nodes = survivors;
    });

    it('SIGTERM hands the keys to the new owner; a restart from STATE_FILE on a new port keeps the ring position', async () => {
      const space = new IdSpace(ID_BITS);
      const ids = await nodeIds(nodes);
      const sorted = [...ids].sort((a, b) => (a[1] < b[1] ? -1 : 1));
      // Ids come from random ports: pick the node that owns the most keys, so there is something to hand over.
      const ownedBy = (at: number) => {
        const predecessorId = sorted[(at - 1 + sorted.length) % sorted.length]![1];
        return [...written.keys()].filter((key) => space.inHalfOpen(space.hash(key), predecessorId, sorted[at]![1]));
      };
      const at = sorted.map((_, i) => i).reduce((best, i) => (ownedBy(i).length > ownedBy(best).length ? i : best), 0);
      const leaver = nodes.find((n) => n.addr === sorted[at]![0])!;
      const successorAddr = sorted[(at + 1) % sorted.length]![0];
      const owned = ownedBy(at);
      assert.ok(owned.length > 0, 'the leaver owned some keys');
      const before = await routingTable(leaver.addr);

      leaver.proc.child.kill('SIGTERM');
      assert.equal(await leaver.proc.exited, 0, leaver.proc.output());
      const rest = nodes.filter((n) => n !== leaver);
      assert.deepEqual(await unreadable(rest[0]!.addr, written), []);
      const successorHolds = new Set((await withClient(successorAddr, (c) => c.store())).map((i) => i.key));
      assert.deepEqual(owned.filter((k) => !successorHolds.has(k)), [], 'the successor holds every key the leaver owned');

      const [newPort, newHttp] = await freePorts(2);
      const restarted: TestNode = {
        name: leaver.name,
        addr: `127.0.0.1:${newPort}`,
        http: `http://127.0.0.1:${newHttp}`,
        env: { ...leaver.env, NODE_PORT: String(newPort), CACHE_HTTP_PORT: String(newHttp), BOOTSTRAP_PEERS: rest.map((n) => n.addr).join(',') },
        proc: leaver.proc,
      };
      restarted.proc = group.node(restarted.name, NODE_SCRIPT, [], restarted.env);
      nodes = [...rest, restarted];
      await waitForStableRing(nodes, ring);
      const after = await routingTable(restarted.addr);
      assert.equal(after.self.id, before.self.id, 'same id, so the same place on the ring');
      assert.deepEqual(await unreadable(restarted.addr, written), []);
    });
  });
}
