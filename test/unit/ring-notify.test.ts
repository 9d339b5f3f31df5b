import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DhtError } from '../../src/errors.js';
import { IdSpace } from '../../src/id/id-space.js';
import type { NodeRef } from '../../src/id/node-ref.js';
import { Ring } from '../../src/ring/ring.js';
import type { Transport } from '../../src/transport/transport.js';

/** Peers at `live` answer pings; every other address refuses the connection. */
function peersAt(live: readonly string[]): Transport {
  return {
    call: (to) => (live.includes(to) ? Promise.resolve({} as never) : Promise.reject(new DhtError('ERR_UNREACHABLE', `${to} refused the connection`))),
  };
}

const self: NodeRef = { id: 100n, addr: 'self:1' };
const pred: NodeRef = { id: 50n, addr: 'pred:1' };

function ringWith(live: readonly string[]) {
  const moves: Array<[NodeRef | undefined, NodeRef]> = [];
  const ring = new Ring({ self, ids: new IdSpace(8), peers: peersAt(live), onNewPredecessor: (p, c) => moves.push([p, c]) }, { successorListSize: 4 });
  ring.install(pred, [{ id: 200n, addr: 'succ:1' }]);
  return { ring, moves };
}

describe('ring - notify - candidates must answer', () => {
  it('keeps the predecessor when a closer candidate names an address nobody serves', async () => {
    const { ring, moves } = ringWith(['pred:1']);
    await ring.notify({ id: 99n, addr: 'ghost:1' });
    assert.deepEqual(ring.predecessor, pred);
    assert.deepEqual(moves, []);
  });

  it('takes a closer candidate that answers, and hands it its range', async () => {
    const { ring, moves } = ringWith(['pred:1', 'joiner:1']);
    const joiner = { id: 99n, addr: 'joiner:1' };
    await ring.notify(joiner);
    assert.deepEqual(ring.predecessor, joiner);
    assert.deepEqual(moves, [[pred, joiner]]);
  });

  it('replaces a dead predecessor only with a candidate that answers', async () => {
    const { ring } = ringWith([]);
    await ring.notify({ id: 10n, addr: 'ghost:1' });
    assert.deepEqual(ring.predecessor, pred);
  });
});

describe('ring - a local bug is not a dead peer', () => {
  it('stabilize fails with the bug and keeps its successors instead of passing over them as dead', async () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'successors')");
    const peers: Transport = { call: () => Promise.reject(bug) };
    const ring = new Ring({ self, ids: new IdSpace(8), peers }, { successorListSize: 4 });
    const successors = [{ id: 200n, addr: 'succ:1' }, { id: 220n, addr: 'next:1' }];
    ring.install(pred, successors);
    await assert.rejects(ring.stabilize(), (err) => err === bug);
    assert.deepEqual(ring.successors, successors);
  });
});
