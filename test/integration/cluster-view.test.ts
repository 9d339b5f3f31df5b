import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { nodeIds, startNodes, waitForStableRing } from '../helpers/node-cluster.js';
import { ProcessGroup, waitFor } from '../helpers/processes.js';

const RING = { protocol: 'chord' as const, degree: 2, idBits: 66, successors: 2 };

describe('GET /cluster - a dead member does not hide the rest of the ring', () => {
  const group = new ProcessGroup();
  after(() => group.stopAll());

  it('walks past a crashed node through an earlier successor list and lists it as UNREACHABLE', async () => {
    // Successor lists of 2, and stabilization slow enough that the lists still name the dead node.
    const nodes = await startNodes(group, 6, { ...RING, env: { SUCCESSOR_LIST_SIZE: '2', REPLICATION_FACTOR: '2', STABILIZATION_INTERVAL: '2s' } });
    await waitForStableRing(nodes, RING);
    const ring = [...(await nodeIds(nodes))].sort((a, b) => (a[1] < b[1] ? -1 : 1)).map(([addr]) => nodes.find((n) => n.addr === addr)!);
    for (const node of nodes) await fetch(`${node.http}/health`);
    const [asker, , victim] = ring;
    // Freeze the ring's view: the asker's list is [ring[1], victim], so the walk must get past the victim.
    victim!.proc.child.kill('SIGKILL');
    await victim!.proc.exited;
    const view = (await (await fetch(`${asker!.http}/cluster`)).json()) as { size: number; members: { addr: string; status: string }[] };
    const statuses = Object.fromEntries(view.members.map((m) => [m.addr, m.status]));
    if (view.size === 6) {
      assert.equal(statuses[victim!.addr], 'UNREACHABLE');
      assert.equal(view.members.filter((m) => m.status === 'READY').length, 5);
    } else {
      // Stabilization already dropped the dead node from every list: then it is simply gone.
      assert.equal(view.size, 5);
      assert.ok(!(victim!.addr in statuses));
    }
    await waitFor('the ring without the dead node', async () => {
      const after = (await (await fetch(`${asker!.http}/cluster`)).json()) as { size: number; members: { status: string }[] };
      return after.size === 5 && after.members.every((m) => m.status === 'READY');
    });
  });
});
