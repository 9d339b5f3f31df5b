import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { nodeIds, startNodes, waitForStableRing } from '../helpers/node-cluster.js';
import { ProcessGroup } from '../helpers/processes.js';

const RING = { protocol: 'koorde' as const, degree: 2, idBits: 66, successors: 8 };

describe('NODE_ID_STRATEGY=balanced - real nodes started at once', () => {
  const group = new ProcessGroup();
  after(() => group.stopAll());

  it('form one ring in which no node owns more than twice the mean share', async () => {
    const nodes = await startNodes(group, 8, { ...RING, env: { NODE_ID_STRATEGY: 'balanced' } });
    await waitForStableRing(nodes, RING);
    const ids = await nodeIds(nodes);
    assert.equal(new Set(ids.values()).size, 8, 'every node picked its own id');
    const view = (await (await fetch(`${nodes[0]!.http}/cluster`)).json()) as { size: number; balance: { max_share_over_mean: number } };
    assert.equal(view.size, 8);
    assert.ok(view.balance.max_share_over_mean <= 2, JSON.stringify(view.balance));
  });
});
