import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { NODE_SCRIPT, startNodes, waitForStableRing, withClient } from '../helpers/node-cluster.js';
import { ProcessGroup, waitFor } from '../helpers/processes.js';

const R = 3;
const ring = { protocol: 'koorde' as const, degree: 2, idBits: 66, successors: 8 };

/** What a read of `key` returns through `addr`: the value, or `not found`. */
async function read(addr: string, key: string): Promise<string> {
  return withClient(addr, (c) => c.get(key)).catch((err: Error & { kind?: string }) => (err.kind === 'not found' ? 'not found' : `error: ${err.message}`));
}

describe('storage - a node restarted from a stale STATE_FILE (multi-process)', () => {
  const group = new ProcessGroup();
  after(() => group.stopAll());

  it('values overwritten and keys deleted while it was down stay overwritten and deleted', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'koorde-stale-'));
    const nodes = await startNodes(group, 4, {
      protocol: ring.protocol,
      degree: ring.degree,
      idBits: ring.idBits,
      env: { REPLICATION_FACTOR: String(R) },
      envFor: (i) => ({ STATE_FILE: join(stateDir, `node-${i}.json`) }),
    });
    await waitForStableRing(nodes, ring);
    const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`);
    for (const key of keys) await withClient(nodes[0]!.addr, (c) => c.put(key, `${key}-old`));
    // With R = 3 of 4 nodes there are 3 × 40 copies once replication is done: the node holding
    // the most has at least 30 of the keys in its state file, whatever the shares of the ring.
    const held = async () => Promise.all(nodes.map(async (n) => (await withClient(n.addr, (c) => c.store())).length));
    await waitFor('every key on R nodes', async () => (await held()).reduce((a, b) => a + b, 0) >= R * keys.length);
    const counts = await held();
    const victim = nodes[counts.indexOf(Math.max(...counts))]!;
    assert.ok(Math.max(...counts) >= (R * keys.length) / nodes.length, `copies per node ${counts.join(', ')}`);

    victim.proc.child.kill('SIGTERM');
    assert.equal(await victim.proc.exited, 0, victim.proc.output());
    const want = new Map(keys.map((k) => [k, `${k}-old`]));
    const live = nodes.filter((n) => n !== victim);
    for (const [i, key] of keys.entries()) {
      if (i % 4 === 0) {
        await withClient(live[i % 3]!.addr, (c) => c.delete(key));
        want.set(key, 'not found');
      } else if (i % 4 === 1) {
        await withClient(live[i % 3]!.addr, (c) => c.put(key, `${key}-new`));
        want.set(key, `${key}-new`);
      }
    }

    victim.proc = group.node(victim.name, NODE_SCRIPT, [], victim.env); // same port, same STATE_FILE
    await waitForStableRing(nodes, ring);
    // Repair runs every second here: wait until every node, the restarted one first, reads what
    // was written last, and the restarted node keeps no stale copy of its own.
    const stale = async () => {
      const problems: string[] = [];
      for (const node of [victim, ...live]) {
        for (const key of keys) {
          const got = await read(node.addr, key);
          if (got !== want.get(key)) problems.push(`${key} via ${node.name}: ${got}, want ${want.get(key)}`);
        }
      }
      for (const item of await withClient(victim.addr, (c) => c.store())) {
        if (item.value !== want.get(item.key)) problems.push(`${victim.name} holds ${item.key} = ${item.value}, want ${want.get(item.key)}`);
      }
      return problems;
    };
    let last: string[] = [];
    await waitFor(
      'newer values and deletions everywhere',
      async () => {
        last = await stale();
        return last.length === 0;
      },
      60_000,
      500,
    ).catch((err: Error) => assert.fail(`${err.message}: ${last.slice(0, 5).join('; ')}`));
  });
});
