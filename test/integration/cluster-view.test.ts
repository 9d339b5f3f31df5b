import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { IdSpace } from '../../src/id/id-space.js';
import { NODE_SCRIPT, nodeIds, startNodes, waitForStableRing, type TestNode } from '../helpers/node-cluster.js';
import { freePorts, ProcessGroup, waitFor } from '../helpers/processes.js';

const RING = { protocol: 'chord' as const, degree: 2, idBits: 66, successors: 2 };

describe('GET /cluster - a dead member does not hide the rest of the ring', () => {
  const group = new ProcessGroup();
  after(() => group.stopAll());

  it('walks past a crashed node through an earlier successor list and lists it as UNREACHABLE', async () => {
    const env = { SUCCESSOR_LIST_SIZE: '2', REPLICATION_FACTOR: '2' };
    const five = await startNodes(group, 5, { ...RING, env });
    await waitForStableRing(five, RING);
    const ring = [...(await nodeIds(five))].sort((a, b) => (a[1] < b[1] ? -1 : 1));
    // The asker joins halfway between two members, so its successor list is [ring[1], ring[2]]
    // and stays so: it stabilizes once when it joins, then not for ten minutes. The victim is
    // ring[2], which the asker's own list names whatever the others have dropped meanwhile.
    const space = new IdSpace(RING.idBits);
    const askerId = space.wrap(ring[0]![1] + space.distance(ring[0]![1], ring[1]![1]) / 2n);
    const [grpc, http] = await freePorts(2);
    const askerEnv = {
      ...five[0]!.env,
      NODE_PORT: String(grpc),
      CACHE_HTTP_PORT: String(http),
      NODE_ID: space.toHex(askerId),
      STABILIZATION_INTERVAL: '10m',
      BOOTSTRAP_PEERS: five.map((n) => n.addr).join(','),
    };
    const asker: TestNode = { name: 'asker', addr: `127.0.0.1:${grpc}`, http: `http://127.0.0.1:${http}`, env: askerEnv, proc: group.node('asker', NODE_SCRIPT, [], askerEnv) };
    const nodes = [...five, asker];
    await waitForStableRing(nodes, RING);
    const victim = five.find((n) => n.addr === ring[2]![0])!;

    victim.proc.child.kill('SIGKILL');
    await victim.proc.exited;
    const view = (await (await fetch(`${asker.http}/cluster`)).json()) as { size: number; members: { addr: string; status: string }[] };
    const statuses = Object.fromEntries(view.members.map((m) => [m.addr, m.status]));
    assert.equal(view.size, 6, JSON.stringify(statuses));
    assert.equal(statuses[victim.addr], 'UNREACHABLE');
    assert.deepEqual(
      nodes.filter((n) => n !== victim).map((n) => statuses[n.addr]),
      ['READY', 'READY', 'READY', 'READY', 'READY'],
      'every live member listed, including those after the dead one',
    );

    // Without the asker's frozen list, members that stabilize normally soon forget the dead node.
    asker.proc.child.kill('SIGTERM');
    assert.equal(await asker.proc.exited, 0, asker.proc.output());
    const observer = five.find((n) => n.addr === ring[3]![0])!;
    await waitFor('the ring without the dead node', async () => {
      const later = (await (await fetch(`${observer.http}/cluster`)).json()) as { size: number; members: { status: string }[] };
      return later.size === 4 && later.members.every((m) => m.status === 'READY');
    });
  });
});
