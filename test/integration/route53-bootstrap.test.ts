import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { nodeIds, startNodes, waitForStableRing } from '../helpers/node-cluster.js';
import { FakeRoute53 } from '../helpers/fake-route53.js';
import { ProcessGroup, waitFor } from '../helpers/processes.js';

const RING = { protocol: 'koorde' as const, degree: 2, idBits: 66, successors: 8 };

describe('BOOTSTRAP_MODE=route53 - nodes find each other through SRV records in a hosted zone', () => {
  const group = new ProcessGroup();
  const zone = new FakeRoute53('Z0KOORDE', 2);
  after(async () => {
    await group.stopAll();
    await zone.close();
  });

  it('three nodes started at once with no peer list form one ring, each registered; a graceful leave removes its record', async () => {
    const endpoint = await zone.start();
    const nodes = await startNodes(group, 3, {
      ...RING,
      env: {
        BOOTSTRAP_MODE: 'route53',
        BOOTSTRAP_PEERS: '',
        ROUTE53_ZONE_ID: 'Z0KOORDE',
        ROUTE53_SUFFIX: 'koorde.test',
        ROUTE53_TTL: '15',
        ROUTE53_ENDPOINT: endpoint,
        NODE_HOST: '127.0.0.1',
        AWS_ACCESS_KEY_ID: 'AKIDTEST',
        AWS_SECRET_ACCESS_KEY: 'secret',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    });
    await waitForStableRing(nodes, RING);
    const ids = await nodeIds(nodes);
    const srv = () => [...zone.records.values()].filter((r) => r.type === 'SRV').map((r) => `${r.name} ${r.ttl} ${r.values.join()}`).sort();
    const recordOf = (addr: string) => {
      const [host, port] = addr.split(':');
      return `${ids.get(addr)!.toString(16).padStart(17, '0')}.koorde.test. 15 0 0 ${port} ${host}.`;
    };
    assert.deepEqual(srv(), nodes.map((n) => recordOf(n.addr)).sort());

    const leaving = nodes[2]!;
    leaving.proc.child.kill('SIGTERM');
    assert.equal(await leaving.proc.exited, 0);
    assert.deepEqual(srv(), nodes.slice(0, 2).map((n) => recordOf(n.addr)).sort());
    await waitForStableRing(nodes.slice(0, 2), RING);
    await waitFor('the others still READY', async () => (await Promise.all(nodes.slice(0, 2).map((n) => fetch(`${n.http}/health`)))).every((r) => r.ok));
  });
});
